#include "status.hpp"

#include "files.hpp"

namespace svkit {

std::string status_path(const std::string& service_dir) {
  return service_dir + "/supervise/status.json";
}

std::string reaped_path(const std::string& service_dir) {
  return service_dir + "/supervise/reaped";
}

Result<Status> parse_status(const std::string& text, const std::string& path) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return Error{"status file is not JSON: " + path};
  try {
    return json.get<Status>();
  } catch (const nlohmann::json::exception& e) {
    return Error{"bad status file " + path + ": " + json_problem(e)};
  }
}

Result<Status> read_status(const std::string& service_dir) {
  const std::string path = status_path(service_dir);
  auto text = read_small_file(path, kRecordFileCap);
  if (!text) return text.error();
  return parse_status(*text, path);
}

}  // namespace svkit
