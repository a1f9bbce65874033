#include "planned_stop.hpp"

#include "../lib/files.hpp"

namespace svkit::state {

void to_json(nlohmann::json& j, const PlannedStop& m) {
  j = {{"pid", m.pid}, {"start_time", m.start_time}, {"written_at_ms", m.written_at_ms}};
}

void from_json(const nlohmann::json& j, PlannedStop& m) {
  j.at("pid").get_to(m.pid);
  j.at("start_time").get_to(m.start_time);
  j.at("written_at_ms").get_to(m.written_at_ms);
}

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

MarkerVerdict judge_marker(const std::optional<std::string>& marker_text, pid_t pid,
                           uint64_t start_time, int64_t now_ms) {
  if (!marker_text) return MarkerVerdict::absent;
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

std::string write_marker(const std::string& service_dir, const PlannedStop& marker) {
  nlohmann::json j = marker;
  return write_file_atomic(marker_path(service_dir), j.dump() + "\n", false);
}

}  // namespace svkit::state
