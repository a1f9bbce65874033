#include "planned_stop.hpp"

#include <cerrno>

#include "../lib/files.hpp"

namespace svkit::state {

const char* to_string(MarkerVerdict verdict) {
  switch (verdict) {
    case MarkerVerdict::operator_stop:
      return "operator stop";
    case MarkerVerdict::absent:
      return "no marker";
    case MarkerVerdict::expired:
      return "expired marker";
    case MarkerVerdict::malformed:
      return "malformed marker";
    case MarkerVerdict::other_process:
      return "marker for another process";
  }
  return "?";
}

MarkerVerdict judge_marker(const Result<std::string>& marker_text, pid_t pid, uint64_t start_time,
                           int64_t now_ms) {
  if (!marker_text) {
    return marker_text.error().errnum == ENOENT ? MarkerVerdict::absent : MarkerVerdict::malformed;
  }
  auto json = nlohmann::json::parse(*marker_text, nullptr, false);
  PlannedStop marker;
  try {
    if (json.is_discarded()) return MarkerVerdict::malformed;
    marker = json.get<PlannedStop>();
  } catch (const nlohmann::json::exception&) {
    return MarkerVerdict::malformed;
  }
  if (marker.pid <= 0 || marker.written_at_ms <= 0) return MarkerVerdict::malformed;
  const int64_t age = now_ms - marker.written_at_ms;
  // A marker from the future is as untrustworthy as an old one.
  if (age > kMarkerLifetimeMs || age < -kMarkerLifetimeMs) return MarkerVerdict::expired;
  if (marker.pid != pid || marker.start_time != start_time) return MarkerVerdict::other_process;
  return MarkerVerdict::operator_stop;
}

std::string marker_path(const std::string& service_dir) {
  return service_dir + "/supervise/planned-stop";
}

Result<std::string> read_marker(const std::string& service_dir) {
  return read_small_file(marker_path(service_dir), kConfigFileCap);
}

Failure write_marker(const std::string& service_dir, const PlannedStop& marker) {
  return write_file_atomic(marker_path(service_dir), json_line(marker), Durability::runtime);
}

}  // namespace svkit::state
