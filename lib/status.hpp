// supervise/status.json: what supervise knows of its service, replaced
// atomically on every change; read by svctl (stat, wait) and svinit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace svkit {

enum class RunState { down, up, finish, backoff, halted, failed };

struct ExitInfo {
  int code = -1;   // exit code, or -1 when killed
  int signal = 0;  // signal number when killed
  int64_t at_ms = 0;
  bool operator==(const ExitInfo&) const = default;
};

struct Status {
  std::string name;
  RunState state = RunState::down;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  int64_t since_ms = 0;        // when `state` began
  int64_t ready_since_ms = 0;  // 0: not ready (or no readiness protocol)
  bool want_up = false;
  bool normally_up = true;
  bool once = false;
  std::string want_by;  // who set `want`: "operator", "boot", "policy", ...
  std::optional<ExitInfo> last_exit;
  uint32_t restarts = 0;
  int64_t next_start_ms = 0;  // when in backoff
  int64_t delay_ms = 0;       // the current restart delay
  std::string reason;         // why it is down/halted/failed, for people
  std::string health;         // "" (no check), "unknown", "healthy", "unhealthy"
  std::string evidence;       // the newest evidence file
  std::vector<std::string> errors;
  bool operator==(const Status&) const = default;
};

const char* to_string(RunState state);

void to_json(nlohmann::json& j, const ExitInfo& e);
void from_json(const nlohmann::json& j, ExitInfo& e);
void to_json(nlohmann::json& j, const Status& s);
void from_json(const nlohmann::json& j, Status& s);

std::string status_path(const std::string& service_dir);
// Parsed status, or nullopt with `error` set (missing file, bad JSON).
std::optional<Status> read_status(const std::string& service_dir, std::string* error = nullptr);

}  // namespace svkit
