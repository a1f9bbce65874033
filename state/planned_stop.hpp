// The planned-stop marker (DESIGN.md "Planned-stop markers"):
// SCANDIR/NAME/supervise/planned-stop names the one process instance an
// operator is stopping, so its exit is told apart from a container stop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace svkit::state {

struct PlannedStop {
  pid_t pid = 0;
  uint64_t start_time = 0;  // field 22 of /proc/PID/stat
  int64_t written_at_ms = 0;
};

void to_json(nlohmann::json& j, const PlannedStop& m);
void from_json(const nlohmann::json& j, PlannedStop& m);

// A marker older than this is stale.
constexpr int64_t kMarkerLifetimeMs = 60'000;

enum class MarkerVerdict { operator_stop, absent, expired, malformed, other_process };
const char* to_string(MarkerVerdict verdict);

// Is the exit of (pid, start_time) an operator's planned stop?
MarkerVerdict judge_marker(const std::optional<std::string>& marker_text, pid_t pid,
                           uint64_t start_time, int64_t now_ms);

std::string marker_path(const std::string& service_dir);
std::string write_marker(const std::string& service_dir, const PlannedStop& marker);

}  // namespace svkit::state
