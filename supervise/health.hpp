// The health check of an up service: `health` runs every interval (never two
// at once) in the service folder, is killed with its process group after the
// timeout, and each result goes to the owner with the count of failures in a
// row. What a result means for the service is the supervisor's table.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "../lib/fd.hpp"
#include "../lib/uv.hpp"
#include "config.hpp"

namespace svkit::supervise {

class HealthMonitor {
 public:
  using OnResult = std::function<void(bool passed, uint64_t failures_in_a_row)>;
  using OnError = std::function<void(const std::string& line)>;

  HealthMonitor(uv_loop_t* loop, std::string dir, OnResult on_result, OnError on_error);

  // The first check runs one interval from now, with `env` set and `unset` taken out.
  void start(const HealthCheck& config, std::vector<std::string> env,
             std::vector<std::string> unset);
  // No more checks; a running one is killed.
  void stop();
  // True when `pid` was the check (its result is then delivered).
  bool reaped(pid_t pid, int wait_status);
  // The last check's output (at most 4 KiB), for evidence.
  const std::string& last_output() const { return output_; }

 private:
  void run_check();
  void timed_out();
  void read_output();

  uv_loop_t* loop_;
  std::string dir_;
  std::vector<std::string> env_, unset_;
  OnResult on_result_;
  OnError on_error_;
  HealthCheck config_;
  bool active_ = false;
  pid_t pid_ = 0;
  pid_t abandoned_ = 0;  // a check killed by stop(): reaped without a result
  uint64_t failures_ = 0;
  std::string output_;
  UniqueFd output_read_;
  uv::Readable output_watch_;
  uv::Timer interval_timer_, timeout_timer_;
};

}  // namespace svkit::supervise
