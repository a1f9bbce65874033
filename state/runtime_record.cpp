#include "runtime_record.hpp"

#include <fcntl.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "../lib/files.hpp"
#include "../lib/proc.hpp"

namespace svkit::state {

std::string instance_file(const std::string& rundir) {
  return rundir + "/instance";
}

std::string read_instance_id(const std::string& rundir) {
  auto text = read_file(instance_file(rundir));
  if (!text) return {};
  auto end = text->find_first_of(" \t\r\n");
  return text->substr(0, end);
}

std::string ensure_instance_id(const std::string& rundir, std::string* error) {
  if (auto id = read_instance_id(rundir); !id.empty()) return id;
  unsigned char bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    if (error) *error = std::string("getrandom: ") + std::strerror(errno);
    return {};
  }
  std::string id;
  for (unsigned char b : bytes) {
    constexpr char kHex[] = "0123456789abcdef";
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  if (!make_dirs(rundir)) {
    if (error) *error = "cannot create run dir " + rundir + ": " + std::strerror(errno);
    return {};
  }
  if (auto err = write_file_atomic(instance_file(rundir), id + "\n", false); !err.empty()) {
    if (error) *error = err;
    return {};
  }
  return id;
}

std::string pid_record_path(const std::string& profile_dir) {
  return profile_dir + "/pid";
}

std::string write_pid_record(const std::string& profile_dir, const PidRecord& record) {
  nlohmann::json j = {
      {"pid", record.pid}, {"start_time", record.start_time}, {"instance", record.instance}};
  return write_file_atomic(pid_record_path(profile_dir), j.dump() + "\n", true);
}

std::optional<PidRecord> read_pid_record(const std::string& profile_dir) {
  auto text = read_file(pid_record_path(profile_dir));
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  try {
    if (j.is_discarded()) return PidRecord{};  // present but unreadable: stale
    return PidRecord{j.at("pid").get<pid_t>(), j.at("start_time").get<uint64_t>(),
                     j.at("instance").get<std::string>()};
  } catch (const nlohmann::json::exception&) {
    return PidRecord{};
  }
}

bool is_live(const PidRecord& record, const std::string& current_instance) {
  if (record.pid <= 0 || record.instance.empty() || record.instance != current_instance) {
    return false;
  }
  auto start = process_start_time(record.pid);
  return start && *start == record.start_time;
}

}  // namespace svkit::state
