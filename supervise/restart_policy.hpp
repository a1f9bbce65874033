// What happens after run dies on its own: restart (after a backoff delay),
// halt (a deliberate-halt exit code), stop (the policy says no more), or give
// up (on-failure's limit reached). A pure function of the config and the
// history, so every rule is tested without processes.
#pragma once

#include <cstdint>
#include <string>

#include "../lib/status.hpp"
#include "config.hpp"

namespace svkit::supervise {

struct RestartHistory {
  uint32_t quick_deaths = 0;  // consecutive deaths before restart-reset of uptime
  uint32_t failures = 0;      // consecutive failed runs, for on-failure:N
};

struct RestartDecision {
  enum class Kind { restart, halt, stop, give_up } kind = Kind::restart;
  int64_t delay_ms = 0;
  RestartHistory history;  // updated
  std::string reason;      // for status and evidence; empty for a plain restart
};

RestartDecision decide_restart(const ServiceConfig& config, const ExitInfo& exit, int64_t uptime_ms,
                               RestartHistory history);

}  // namespace svkit::supervise
