// The planned-stop marker (DESIGN.md "Planned-stop markers"):
// SCANDIR/NAME/supervise/planned-stop names the one process instance an
// operator is stopping, so its exit is told apart from a container stop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "../lib/error.hpp"
#include "../lib/json.hpp"

namespace svkit::state {

struct PlannedStop {
  pid_t pid = 0;
  uint64_t start_time = 0;  // field 22 of /proc/PID/stat
  int64_t written_at_ms = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PlannedStop, pid, start_time, written_at_ms)

// A marker older than this is stale.
constexpr int64_t kMarkerLifetimeMs = 60'000;

enum class MarkerVerdict { operator_stop, absent, expired, malformed, other_process };
const char* to_string(MarkerVerdict verdict);

// Is the exit of (pid, start_time) an operator's planned stop? `marker` is
// the file as read_marker gave it (a missing file is `absent`).
MarkerVerdict judge_marker(const Result<std::string>& marker, pid_t pid, uint64_t start_time,
                           int64_t now_ms);

std::string marker_path(const std::string& service_dir);
Result<std::string> read_marker(const std::string& service_dir);
Failure write_marker(const std::string& service_dir, const PlannedStop& marker);

}  // namespace svkit::state
