// Runtime records that outlive a container instance on the state volume, and
// how to tell a live one from a stale one: the instance id (lib/instance.hpp)
// plus the process start time, so a record from another instance is stale
// even when a live process now has its pid number.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "../lib/error.hpp"
#include "../lib/json.hpp"

namespace svkit::state {

struct PidRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string instance;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PidRecord, pid, start_time, instance)

// STATE/profiles/NAME/pid: supervise's record of the running instance.
std::string pid_record_path(const std::string& profile_dir);
Failure write_pid_record(const std::string& profile_dir, const PidRecord& record);
// nullopt when there is none; an empty record (pid 0) when it is unreadable,
// which is as stale as a record can be.
std::optional<PidRecord> read_pid_record(const std::string& profile_dir);
// Same instance, and that pid is alive with that start time.
bool is_live(const PidRecord& record, const std::string& current_instance);

}  // namespace svkit::state
