// The service directory's small files (DESIGN.md "A service directory"), read
// once when a run starts. Each file has one parser; a bad value is one error
// line and the default stays.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace svkit::supervise {

struct RestartPolicy {
  enum class Kind { always, on_failure, never } policy = Kind::always;
  std::optional<uint32_t> max_restarts;  // on-failure:N
};

// A deliberate-halt exit code and its name ("" when unnamed).
using HaltCodes = std::map<int, std::string>;

struct HealthCheck {
  std::string program = "health";  // `health`, or `ready-check` for readiness
  bool enabled = false;            // the program is an executable file
  uint64_t interval_ms = 10000;
  uint64_t timeout_ms = 5000;
  uint64_t retries = 3;          // failures in a row that make it unhealthy (evidence, no restart)
  uint64_t restart_retries = 0;  // failures in a row that restart it; 0: never
  bool restart = false;          // health-action restart (default none)
};

struct ServiceConfig {
  // `type` (s6-rc): a longrun (the default) keeps `run` alive; a oneshot runs
  // `up` once (then it is up, with no process) and `down` when stopped.
  bool oneshot = false;
  std::vector<std::string> up_command, down_command;  // a oneshot's; empty: none
  bool has_finish = false;
  bool has_log_service = false;  // a log/ subdirectory: stdout goes to svscan's pipe
  bool start_down = false;       // a `down` file
  std::optional<int> notification_fd;
  int down_signal = 15;  // SIGTERM
  uint64_t timeout_kill_ms = 10000;
  uint64_t timeout_finish_ms = 5000;
  uint64_t restart_min_interval_ms = 1000;
  uint64_t log_max_bytes = 1 << 20;
  uint64_t log_keep = 5;
  RestartPolicy restart;
  // Backoff doubles the delay from restart-min-interval up to this, and a run
  // of restart-reset without dying clears it. Docker's reset (10 s); a cap of
  // a minute rather than Kubernetes' five, so a fixed fault recovers soon.
  uint64_t restart_max_delay_ms = 60000;
  uint64_t restart_reset_ms = 10000;
  HaltCodes halt_codes;
  HealthCheck health;
  // ready-check: run every interval after a start until it passes (ready) or
  // ready-check-timeout passes (the start failed).
  HealthCheck ready_check{.program = "ready-check", .interval_ms = 100, .timeout_ms = 5000};
  uint64_t ready_check_timeout_ms = 60000;
  std::vector<std::string> dependencies;  // dependencies.d/
  uint64_t evidence_keep = 20;
  // env/ (s6-envdir's format): "NAME=value" to set, and names to unset.
  std::vector<std::string> env_set;
  std::vector<std::string> env_unset;
};

// Parsers of one file's text, exposed for tests. On a bad value they append
// one line to `errors` and return nullopt.
std::optional<uint64_t> parse_bounded_number(std::string_view file, std::string_view text,
                                             uint64_t max, std::vector<std::string>& errors);
std::optional<int> parse_notification_fd(std::string_view text, std::vector<std::string>& errors);
std::optional<int> parse_down_signal(std::string_view text, std::vector<std::string>& errors);
std::optional<RestartPolicy> parse_restart_policy(std::string_view text,
                                                  std::vector<std::string>& errors);
// Whitespace-separated exit codes 1-255, each optionally followed by its name
// (`71 upgrade-height-reached`); bad words are reported and skipped.
HaltCodes parse_halt_codes(std::string_view text, std::vector<std::string>& errors);
std::optional<bool> parse_health_action(std::string_view text, std::vector<std::string>& errors);

// The variables of an env/ folder (s6-envdir's format: a file per variable,
// its first line the value, trailing blanks cut, NUL read as a newline; an
// empty file unsets it). A bad name or an unreadable file is one error line.
void load_env_folder(const std::string& folder, ServiceConfig& config,
                     std::vector<std::string>& errors);

// How to run a oneshot's `up` or `down` (`file`): itself when executable;
// else its one command line, through `execlineb -P` when execline is
// installed, or split into words at blanks (said in `errors`).
std::vector<std::string> script_command(const std::string& dir, const std::string& file,
                                        std::vector<std::string>& errors);

// Reads every file of `dir`; problems land in `errors`, defaults stay.
ServiceConfig load_config(const std::string& dir, std::vector<std::string>& errors);

std::string_view trim(std::string_view text);

}  // namespace svkit::supervise
