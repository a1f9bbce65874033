// Runtime records that outlive a container instance on the state volume, and
// how to tell a live one from a stale one: the instance id (a fresh random id
// in RUNDIR per container boot) plus the process start time, so a record from
// another instance is stale even when a live process now has its pid number.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace svkit::state {

std::string instance_file(const std::string& rundir);
// The current instance id, or empty when none was made.
std::string read_instance_id(const std::string& rundir);
// Reads the id, creating a fresh one when missing. Empty (with `error`) on failure.
std::string ensure_instance_id(const std::string& rundir, std::string* error = nullptr);

struct PidRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string instance;
};

// STATE/profiles/NAME/pid: supervise's record of the running instance.
std::string pid_record_path(const std::string& profile_dir);
std::string write_pid_record(const std::string& profile_dir, const PidRecord& record);
std::optional<PidRecord> read_pid_record(const std::string& profile_dir);
// Same instance, and that pid is alive with that start time.
bool is_live(const PidRecord& record, const std::string& current_instance);

}  // namespace svkit::state
