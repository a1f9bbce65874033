#include "restart_policy.hpp"

#include <algorithm>

#include "../lib/proc.hpp"

namespace svkit::supervise {

namespace {

std::string describe(const ExitInfo& exit) {
  return exit.signal ? "killed by " + signal_name(exit.signal)
                     : "exited " + std::to_string(exit.code);
}

int64_t backoff_delay(const ServiceConfig& config, uint32_t quick_deaths) {
  const uint32_t doublings = std::min<uint32_t>(quick_deaths - 1, 40);
  const double delay = double(config.restart_min_interval_ms) * double(1ull << doublings);
  return int64_t(std::min(delay, double(config.restart_max_delay_ms)));
}

}  // namespace

RestartDecision decide_restart(const ServiceConfig& config, const ExitInfo& exit, int64_t uptime_ms,
                               RestartHistory history) {
  using Kind = RestartDecision::Kind;
  RestartDecision d;
  const bool failed = exit.signal != 0 || exit.code != 0;
  if (exit.signal == 0 && config.halt_codes.contains(exit.code)) {
    d.kind = Kind::halt;
    d.reason = "halted on purpose (exit " + std::to_string(exit.code) + ")";
    return d;
  }
  // A run that stayed up long enough was healthy: the slate is wiped clean.
  const bool quick = uptime_ms < int64_t(config.restart_reset_ms);
  if (!quick) history = {};
  switch (config.restart.policy) {
    case RestartPolicy::Kind::never:
      d.kind = Kind::stop;
      d.reason = describe(exit) + "; restart policy is never";
      d.history = history;
      return d;
    case RestartPolicy::Kind::on_failure:
      if (!failed) {
        d.kind = Kind::stop;
        d.reason = "exited 0; restart policy is on-failure";
        d.history = history;
        return d;
      }
      ++history.failures;
      if (config.restart.max_restarts && history.failures > *config.restart.max_restarts) {
        d.kind = Kind::give_up;
        d.reason = describe(exit) + "; gave up after " +
                   std::to_string(*config.restart.max_restarts) +
                   " restarts (on-failure:" + std::to_string(*config.restart.max_restarts) + ")";
        d.history = history;
        return d;
      }
      break;
    case RestartPolicy::Kind::always:
      break;
  }
  if (quick) {
    ++history.quick_deaths;
    d.delay_ms = backoff_delay(config, history.quick_deaths);
  } else {
    d.delay_ms = std::max<int64_t>(0, int64_t(config.restart_min_interval_ms) - uptime_ms);
  }
  d.history = history;
  return d;
}

}  // namespace svkit::supervise
