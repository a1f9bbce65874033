#include "stat_line.hpp"

#include "../lib/clock.hpp"
#include "../lib/proc.hpp"

namespace svkit::svctl {

namespace {

std::string exit_text(const ExitInfo& e) {
  return e.signal ? signal_name(e.signal) : std::to_string(e.code);
}

std::string state_head(const Status& s, int64_t now) {
  const std::string age = short_duration(now - s.since_ms);
  switch (s.state) {
    case RunState::up:
      return (s.pid > 0 ? "up (pid " + std::to_string(s.pid) + ") " : "up (oneshot done) ") + age;
    case RunState::finish:
      return "finishing " + age;
    case RunState::backoff:
      return "down " + age + ", restart in " + short_duration(s.next_start_ms - now);
    case RunState::halted:
      return "halted (exit " + (s.last_exit ? exit_text(*s.last_exit) : "?") +
             (s.halt_name.empty() ? "" : ": " + s.halt_name) + ") " + age;
    case RunState::failed:
      return "failed " + age;
    case RunState::down:
      break;
  }
  return "down " + age;
}

}  // namespace

std::string stat_line(const Status& s, int64_t now) {
  std::string line = s.name + ": " + state_head(s, now);
  auto add = [&line](const std::string& part) { line += ", " + part; };
  const bool running = s.state == RunState::up || s.state == RunState::finish;
  const bool want_up = s.want == Want::up;
  if (s.state == RunState::up) add(s.ready_since_ms > 0 ? "ready" : "not ready");
  if (s.state == RunState::up && s.health == Health::healthy) add("healthy");
  if (s.state == RunState::up && s.health == Health::unhealthy) {
    add("unhealthy (" + std::to_string(s.health_failures) + " checks failed in a row)");
  }
  if (s.state == RunState::down && s.normally == Want::up) add("normally up");
  if (running && s.normally == Want::down) add("normally down");
  if (running != want_up || s.want != s.normally || s.state == RunState::halted ||
      s.state == RunState::failed || s.state == RunState::backoff) {
    add(std::string(want_up ? "want up" : "want down") +
        (s.want_by == WantBy::operator_action ? " (operator)" : ""));
  }
  if (running || s.restarts > 0 || s.state != RunState::down) {
    add("restarts " + std::to_string(s.restarts));
  }
  if (s.delay_ms > 0) add("backoff " + short_duration(s.delay_ms));
  if (!running && s.state != RunState::halted && s.last_exit) {
    add("last exit " + exit_text(*s.last_exit));
  }
  if (!s.reason.empty() && s.state != RunState::up) add(s.reason);
  if (!s.evidence.empty()) add("evidence " + s.evidence);
  if (s.console_dropped > 0) {
    add("console dropped " + std::to_string(s.console_dropped) + " lines (all in the log)");
  }
  if (!s.errors.empty()) {
    add("error: " + s.errors.front());
    if (s.errors.size() > 1) line += " (+" + std::to_string(s.errors.size() - 1) + " more)";
  }
  return line;
}

}  // namespace svkit::svctl
