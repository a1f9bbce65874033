// Boot-time reconcile (DESIGN.md "Boot-time reconcile"): persisted profiles →
// slots in the scandir, stale runtime files swept, one logfmt line each.
#pragma once

#include <string>
#include <vector>

#include "../lib/error.hpp"

namespace svkit::reconcile {

struct Context {
  std::string state_dir;
  std::string scandir;
  std::string instance;       // this container instance's id
  std::string profiles_root;  // STATE/profiles resolved; computed when empty
};

struct Outcome {
  std::string profile;
  std::string prior_state = "missing";  // up, down, missing, corrupt
  std::string action = "failed";        // started, registered, failed
  std::string prior_exit = "unknown";   // clean, unclean, unknown
  int swept = 0;
  std::string error;
};

Outcome reconcile_profile(const Context& ctx, const std::string& name);
// Every profile, in name order; an Error when the profiles folder cannot be read.
Result<std::vector<Outcome>> reconcile_all(const Context& ctx);

std::string logfmt_line(const std::string& timestamp, const Outcome& outcome);
// Appends to STATE/logs/boot.log, keeping one old file past 256 KiB.
Failure append_boot_log(const std::string& state_dir, const std::string& lines);

}  // namespace svkit::reconcile
