// What a death of the service leads to — a pure function of the config, the
// operator's want, the death and the history of quick deaths, so that every
// rule is tested without processes. The supervisor's table turns the verdict
// into its next state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "../lib/status.hpp"
#include "config.hpp"

namespace svkit::supervise {

struct RestartHistory {
  uint32_t quick_deaths = 0;  // consecutive deaths before restart-reset of uptime
  uint32_t failures = 0;      // consecutive failed runs, for on-failure:N
};

// One death of `run`, or a start that never happened.
struct Death {
  pid_t pid = 0;                   // 0 when run could not start
  int64_t started_ms = 0;          // wall clock, for people
  std::optional<ExitInfo> exit{};  // none when run could not start
  std::string start_error{};       // why it could not start
  bool expected = false;  // an operator's stop (or a planned-stop marker), an unhealthy restart
  int64_t uptime_ms = 0;  // monotonic
  std::optional<int> finish_code{};  // finish's exit code, when it ran and exited
  std::string failure{};  // a start that failed after run began ("not ready within 5000 ms")

  bool clean() const { return failure.empty() && exit && exit->signal == 0 && exit->code == 0; }
  // "exited 3", "killed by SIGKILL", "cannot start: run: Permission denied"
  std::string describe() const;
  // For an evidence file's name: "exit-3", "signal-SIGKILL", "start-failed".
  std::string slug() const;
};

struct Verdict {
  enum class Kind {
    restart_now,    // start again at once
    restart_later,  // after delay_ms of backoff
    halt,           // a deliberate-halt exit code: down, shown halted
    policy_stop,    // the restart policy says no more: down
    give_up,        // on-failure's limit: down, shown failed
    fail,           // finish exited 125: down, shown failed
    rest,           // the operator wants it down: down
    done,           // a oneshot's `up` succeeded: up, with no process
  } kind = Kind::restart_now;
  int64_t delay_ms = 0;
  RestartHistory history{};  // updated
  std::string reason{};      // for status and evidence; empty for a plain restart
  bool evidence = false;     // write evidence before acting (a death no operator asked for)
  bool counted = false;      // a restart supervise makes on its own: counts in `restarts`
};

Verdict judge(const ServiceConfig& config, Want want, const Death& death, RestartHistory history);

// What comes next, for people (and evidence files): "restart in 400 ms".
std::string next_step(const Verdict& verdict);

}  // namespace svkit::supervise
