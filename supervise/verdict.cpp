#include "verdict.hpp"

#include <algorithm>

#include "../lib/proc.hpp"

namespace svkit::supervise {

std::string Death::describe() const {
  if (!exit) return "cannot start " + start_error;
  if (!failure.empty()) return failure;
  return exit->signal ? "killed by " + signal_name(exit->signal)
                      : "exited " + std::to_string(exit->code);
}

std::string Death::slug() const {
  if (!exit || !failure.empty()) return "start-failed";
  return exit->signal ? "signal-" + signal_name(exit->signal)
                      : "exit-" + std::to_string(exit->code);
}

namespace {

// A start that fails fails again at once: never retried faster than this,
// whatever restart-min-interval says.
constexpr int64_t kFailedStartFloorMs = 1000;

int64_t backoff_delay(const ServiceConfig& config, uint32_t quick_deaths) {
  const uint32_t doublings = std::min<uint32_t>(quick_deaths - 1, 40);
  const double delay = double(config.restart_min_interval_ms) * double(1ull << doublings);
  return int64_t(std::min(delay, double(config.restart_max_delay_ms)));
}

bool failed(const Death& d) {
  return !d.clean();
}

Verdict restart(const ServiceConfig& config, const Death& d, RestartHistory history) {
  Verdict v{.history = history, .evidence = true, .counted = true};
  int64_t delay = 0;
  if (d.uptime_ms < int64_t(config.restart_reset_ms)) {
    ++v.history.quick_deaths;
    delay = backoff_delay(config, v.history.quick_deaths);
  } else {
    delay = std::max<int64_t>(0, int64_t(config.restart_min_interval_ms) - d.uptime_ms);
  }
  if (!d.exit) delay = std::max(delay, kFailedStartFloorMs);
  v.kind = delay > 0 ? Verdict::Kind::restart_later : Verdict::Kind::restart_now;
  v.delay_ms = delay;
  v.reason = d.describe();
  return v;
}

}  // namespace

Verdict judge(const ServiceConfig& config, Want want, const Death& d, RestartHistory history) {
  using Kind = Verdict::Kind;
  // An operator's down (or once) always wins. A crash on the way is still evidence.
  if (want == Want::down) {
    return {.kind = Kind::rest,
            .history = history,
            .reason = d.expected ? "" : d.describe(),
            .evidence = !d.expected && failed(d)};
  }
  if (d.finish_code == 125) {
    return {.kind = Kind::fail,
            .history = history,
            .reason = d.describe() + "; finish exited 125: permanent failure, not restarted",
            .evidence = !d.expected};
  }
  if (config.oneshot) {
    if (d.clean()) return {.kind = Kind::done, .history = history};
    return {.kind = Kind::fail,
            .history = history,
            .reason = "oneshot up " + d.describe(),
            .evidence = true};
  }
  // svctl restart, term or kill, or a restart for health: at once, with a fresh count.
  if (d.expected) return {.kind = Kind::restart_now};
  if (auto named = d.exit && d.exit->signal == 0 ? config.halt_codes.find(d.exit->code)
                                                 : config.halt_codes.end();
      named != config.halt_codes.end()) {
    return {.kind = Kind::halt,
            .history = history,
            .reason = "halted on purpose (exit " + std::to_string(named->first) +
                      (named->second.empty() ? "" : ": " + named->second) + ")",
            .evidence = true};
  }
  // A run that stayed up long enough was healthy: the slate is wiped clean.
  if (d.uptime_ms >= int64_t(config.restart_reset_ms)) history = {};
  switch (config.restart.policy) {
    case RestartPolicy::Kind::never:
      return {.kind = Kind::policy_stop,
              .history = history,
              .reason = d.describe() + "; restart policy is never",
              .evidence = failed(d)};
    case RestartPolicy::Kind::on_failure:
      if (!failed(d)) {
        return {.kind = Kind::policy_stop,
                .history = history,
                .reason = "exited 0; restart policy is on-failure"};
      }
      ++history.failures;
      if (config.restart.max_restarts && history.failures > *config.restart.max_restarts) {
        const std::string n = std::to_string(*config.restart.max_restarts);
        return {
            .kind = Kind::give_up,
            .history = history,
            .reason = d.describe() + "; gave up after " + n + " restarts (on-failure:" + n + ")",
            .evidence = true};
      }
      break;
    case RestartPolicy::Kind::always:
      break;
  }
  return restart(config, d, history);
}

std::string next_step(const Verdict& v) {
  switch (v.kind) {
    case Verdict::Kind::restart_now:
      return "restart at once";
    case Verdict::Kind::restart_later:
      return "restart in " + std::to_string(v.delay_ms) + " ms";
    case Verdict::Kind::halt:
      return "not restarted: halted on purpose";
    case Verdict::Kind::policy_stop:
      return "not restarted: the restart policy";
    case Verdict::Kind::give_up:
      return "not restarted: gave up";
    case Verdict::Kind::fail:
      return "not restarted: permanent failure";
    case Verdict::Kind::rest:
      return "stays down: wanted down";
    case Verdict::Kind::done:
      return "up (oneshot done)";
  }
  return {};
}

}  // namespace svkit::supervise
