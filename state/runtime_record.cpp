#include "runtime_record.hpp"

#include <cerrno>

#include "../lib/files.hpp"
#include "../lib/proc.hpp"

namespace svkit::state {

std::string pid_record_path(const std::string& profile_dir) {
  return profile_dir + "/pid";
}

Failure write_pid_record(const std::string& profile_dir, const PidRecord& record) {
  return write_file_atomic(pid_record_path(profile_dir), json_line(record), Durability::durable);
}

std::optional<PidRecord> read_pid_record(const std::string& profile_dir) {
  auto text = read_small_file(pid_record_path(profile_dir), kConfigFileCap);
  if (!text) {
    if (text.error().errnum == ENOENT) return std::nullopt;
    return PidRecord{};
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  try {
    if (!j.is_discarded()) return j.get<PidRecord>();
  } catch (const nlohmann::json::exception&) {
  }
  return PidRecord{};
}

bool is_live(const PidRecord& record, const std::string& current_instance) {
  if (record.pid <= 0 || record.instance.empty() || record.instance != current_instance) {
    return false;
  }
  auto start = process_start_time(record.pid);
  return start && *start == record.start_time;
}

}  // namespace svkit::state
