// The service directory's small files (DESIGN.md "A service directory"), read
// once when a run starts. Each file has one parser; a bad value is one error
// line and the default stays.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace svkit::supervise {

struct ServiceConfig {
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
};

// Parsers of one file's text, exposed for tests. On a bad value they append
// one line to `errors` and return nullopt.
std::optional<uint64_t> parse_bounded_number(std::string_view file, std::string_view text,
                                           uint64_t max, std::vector<std::string>& errors);
std::optional<int> parse_notification_fd(std::string_view text, std::vector<std::string>& errors);
std::optional<int> parse_down_signal(std::string_view text, std::vector<std::string>& errors);

// Reads every file of `dir`; problems land in `errors`, defaults stay.
ServiceConfig load_config(const std::string& dir, std::vector<std::string>& errors);

std::string_view trim(std::string_view text);

}  // namespace svkit::supervise
