#include "status.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <charconv>

#include "clock.hpp"
#include "control.hpp"
#include "files.hpp"

namespace svkit {

std::string status_path(const std::string& service_dir) {
  return service_dir + "/supervise/status.json";
}

std::string not_ready_because(const Status& s) {
  if (s.state != RunState::up) {
    return std::string(enum_word(s.state, kRunStateWords)) +
           (s.reason.empty() ? "" : " (" + s.reason + ")");
  }
  if (s.ready_since_ms <= 0) return "up, not ready";
  if (s.health == Health::unhealthy) return "up, unhealthy";
  return {};
}

bool wanted_up(const std::string& service_dir) {
  if (auto s = read_status(service_dir)) return s->want == Want::up;
  // A oneshot's `down` is its down script (s6-rc), not s6's start-down marker.
  if (is_oneshot(service_dir)) return true;
  return ::access((service_dir + "/down").c_str(), F_OK) != 0;
}

bool is_oneshot(const std::string& service_dir) {
  auto type = read_small_file(service_dir + "/type", kConfigFileCap);
  return type && type->starts_with("oneshot");
}

std::string reaped_path(const std::string& service_dir) {
  return service_dir + "/supervise/reaped";
}

std::optional<pid_t> recorded_run(const std::string& service_dir) {
  return read_pid_file(service_dir + "/supervise/pid");
}

std::optional<pid_t> read_pid_file(const std::string& path) {
  auto text = read_small_file(path, kConfigFileCap);
  if (!text) return std::nullopt;
  pid_t pid = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), pid);
  if (ec != std::errc() || pid <= 1) return std::nullopt;
  return pid;
}

void leave_reaped(const std::string& service_dir, pid_t pid, int wait_status) {
  const Reaped reaped{.pid = pid,
                      .code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1,
                      .signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0,
                      .at_ms = now_ms()};
  if (!write_file_atomic(reaped_path(service_dir), json_line(reaped), Durability::runtime)) {
    send_control(service_dir, std::string_view(&control::kReaped, 1));
  }
}

Result<Status> parse_status(const std::string& text, const std::string& path) {
  Status status;
  if (read_fields(text, status)) return status;
  // What the direct reader does not take (a halt intent, a wrong type, not
  // JSON): the DOM takes it, or says in its words what is wrong.
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return Error{"status file is not JSON: " + path};
  try {
    return json.get<Status>();
  } catch (const nlohmann::json::exception& e) {
    return Error{"bad status file " + path + ": " + json_problem(e)};
  }
}

Result<Status> read_status_at(int scandir_fd, const std::string& service_dir) {
  const std::string path = status_path(service_dir);
  auto text = read_small_file_at(scandir_fd, path, kRecordFileCap);
  if (!text) return text.error();
  return parse_status(*text, path);
}

Result<Status> read_status(const std::string& service_dir) {
  const std::string path = status_path(service_dir);
  auto text = read_small_file(path, kRecordFileCap);
  if (!text) return text.error();
  return parse_status(*text, path);
}

}  // namespace svkit
