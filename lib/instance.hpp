// The container instance id: a fresh random id in RUNDIR/instance at every
// boot (svinit's stage 1), so that a record from an earlier instance is told
// apart from a live one even when its pid number is in use again.
#pragma once

#include <string>

#include "error.hpp"

namespace svkit {

std::string instance_file(const std::string& rundir);
// The current id, or empty when none was made.
std::string read_instance_id(const std::string& rundir);
// A fresh id, written to the run dir (made when missing).
Result<std::string> write_fresh_instance_id(const std::string& rundir);
// The current id, or a fresh one when there is none (reconcile run alone).
Result<std::string> ensure_instance_id(const std::string& rundir);

}  // namespace svkit
