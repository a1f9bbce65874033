#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "../lib/dependencies.hpp"
#include "../lib/files.hpp"
#include "../lib/number.hpp"
#include "../lib/proc.hpp"

namespace svkit::supervise {

std::string_view trim(std::string_view text) {
  const char* space = " \t\r\n";
  auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

static std::string quoted(std::string_view text) {
  constexpr size_t kShown = 40;
  std::string out = "\"";
  for (char c : text.substr(0, kShown)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > kShown) out += "...";
  return out + "\"";
}

std::optional<uint64_t> parse_bounded_number(std::string_view file, std::string_view text,
                                             uint64_t max, std::vector<std::string>& errors) {
  auto value = parse_number<uint64_t>(trim(text));
  if (!value || *value > max) {
    errors.push_back(std::string(file) + ": " + quoted(trim(text)) +
                     " is not a whole number from 0 to " + std::to_string(max) + "; default kept");
    return std::nullopt;
  }
  return value;
}

std::optional<int> parse_notification_fd(std::string_view text, std::vector<std::string>& errors) {
  auto value = parse_number<uint64_t>(trim(text));
  if (!value || *value < 3 || *value > 1023) {
    errors.push_back("notification-fd: " + quoted(trim(text)) +
                     " is not a file descriptor from 3 to 1023; readiness not used");
    return std::nullopt;
  }
  return static_cast<int>(*value);
}

std::optional<int> parse_down_signal(std::string_view text, std::vector<std::string>& errors) {
  auto sig = parse_signal(trim(text));
  if (!sig) {
    errors.push_back("down-signal: " + quoted(trim(text)) + " is not a signal; SIGTERM kept");
  }
  return sig;
}

std::optional<RestartPolicy> parse_restart_policy(std::string_view text,
                                                  std::vector<std::string>& errors) {
  const auto word = trim(text);
  if (word == "always") return RestartPolicy{RestartPolicy::Kind::always, std::nullopt};
  if (word == "never") return RestartPolicy{RestartPolicy::Kind::never, std::nullopt};
  if (word == "on-failure") return RestartPolicy{RestartPolicy::Kind::on_failure, std::nullopt};
  if (word.substr(0, 11) == "on-failure:") {
    auto limit = parse_number<uint64_t>(word.substr(11));
    if (limit && *limit <= 1'000'000) {
      return RestartPolicy{RestartPolicy::Kind::on_failure, uint32_t(*limit)};
    }
  }
  errors.push_back("restart: " + quoted(word) +
                   " is not always, never, on-failure or on-failure:N; always kept");
  return std::nullopt;
}

HaltCodes parse_halt_codes(std::string_view text, std::vector<std::string>& errors) {
  HaltCodes codes;
  int last = 0;  // the code a name word that follows would name (0: none)
  size_t pos = 0;
  while ((pos = text.find_first_not_of(" \t\r\n,", pos)) != std::string_view::npos) {
    const size_t end = std::min(text.find_first_of(" \t\r\n,", pos), text.size());
    const auto word = text.substr(pos, end - pos);
    pos = end;
    if (auto code = parse_number<uint64_t>(word); code && *code >= 1 && *code <= 255) {
      codes.emplace(int(*code), "");
      last = int(*code);
    } else if (last > 0 && !word.empty() && !std::isdigit(static_cast<unsigned char>(word[0])) &&
               word.size() <= 64) {
      codes[last] = std::string(word);
      last = 0;
    } else {
      errors.push_back("halt-codes: " + quoted(word) +
                       " is not an exit code from 1 to 255 (or a name after one); skipped");
      last = 0;
    }
  }
  return codes;
}

std::optional<bool> parse_health_action(std::string_view text, std::vector<std::string>& errors) {
  const auto word = trim(text);
  if (word == "restart") return true;
  if (word == "none") return false;
  errors.push_back("health-action: " + quoted(word) + " is not restart or none; none kept");
  return std::nullopt;
}

namespace {

// Two thresholds: unhealthy (a warning, with evidence) at health-retries, a
// restart at health-restart-retries (implies health-action restart). With
// health-action restart alone, both are health-retries (one count decides).
void settle_health_thresholds(std::optional<bool> action, HealthCheck& health,
                              std::vector<std::string>& errors) {
  if (action == false && health.restart_retries > 0) {
    errors.push_back("health-restart-retries: ignored, health-action is none");
    health.restart_retries = 0;
  }
  if (action == true && health.restart_retries == 0) health.restart_retries = health.retries;
  if (health.restart_retries > 0 && health.restart_retries < health.retries) {
    errors.push_back("health-restart-retries: " + std::to_string(health.restart_retries) +
                     " is below health-retries; " + std::to_string(health.retries) + " used");
    health.restart_retries = health.retries;
  }
  health.restart = health.restart_retries > 0;
}

constexpr uint64_t kDay = 24ull * 3600 * 1000;

// The names in the service folder: one readdir says which of the optional
// files exist, so absent ones cost no open each.
std::set<std::string, std::less<>> names_in(const std::string& dir) {
  std::set<std::string, std::less<>> names;
  if (auto listed = folder_names(dir)) names.insert(listed->begin(), listed->end());
  return names;
}

class ServiceFiles {
 public:
  ServiceFiles(const std::string& dir, std::vector<std::string>& errors)
      : dir_(dir), names_(names_in(dir)), errors_(errors) {}

  bool has(std::string_view file) const { return names_.contains(file); }

  // Hands the text of `file`, when present and readable, to `apply`.
  template <class Apply>
  void with(const char* file, Apply apply) {
    if (!has(file)) return;
    const std::string path = dir_ + "/" + file;
    auto text = read_small_file(path, kConfigFileCap);
    if (text) {
      apply(*text);
      return;
    }
    std::string why = text.error().line;
    if (why.starts_with(path + ": ")) why.erase(0, path.size() + 2);
    errors_.push_back(std::string(file) + ": " + why + "; default kept");
  }

  void millis(const char* file, uint64_t& field, uint64_t max = kDay) {
    with(file, [&](const std::string& t) {
      if (auto v = parse_bounded_number(file, t, max, errors_)) field = *v;
    });
  }

 private:
  const std::string& dir_;
  std::set<std::string, std::less<>> names_;
  std::vector<std::string>& errors_;
};

}  // namespace

namespace {

bool is_variable_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

void load_env_folder(const std::string& folder, ServiceConfig& config,
                     std::vector<std::string>& errors) {
  auto names = folder_names(folder);
  if (!names) {
    errors.push_back("env: " + names.error().line + "; no variables set");
    return;
  }
  std::sort(names->begin(), names->end());
  for (const auto& name : *names) {
    if (name.starts_with('.')) continue;
    if (!is_variable_name(name)) {
      errors.push_back("env/" + quoted(name) + ": not a variable name; skipped");
      continue;
    }
    auto text = read_small_file(folder + "/" + name, kRecordFileCap);
    if (!text) {
      errors.push_back("env/" + name + ": " + text.error().line + "; skipped");
      continue;
    }
    if (text->empty()) {
      config.env_unset.push_back(name);
      continue;
    }
    std::string value = text->substr(0, text->find('\n'));
    value.erase(value.find_last_not_of(" \t") + 1);
    std::replace(value.begin(), value.end(), '\0', '\n');
    config.env_set.push_back(name + "=" + value);
  }
}

namespace {

std::string find_execlineb() {
  for (const char* dir : {"/command", "/usr/bin", "/bin", "/usr/local/bin"}) {
    const std::string path = std::string(dir) + "/execlineb";
    if (is_executable_file(path)) return path;
  }
  return {};
}

}  // namespace

std::vector<std::string> script_command(const std::string& dir, const std::string& file,
                                        std::vector<std::string>& errors) {
  const std::string path = dir + "/" + file;
  if (is_executable_file(path)) return {"./" + file};
  auto text = read_small_file(path, kConfigFileCap);
  if (!text) {
    errors.push_back(file + ": " + text.error().line);
    return {};
  }
  static const std::string execlineb = find_execlineb();
  if (!execlineb.empty()) return {execlineb, "-P", "./" + file};
  std::vector<std::string> words;
  size_t pos = 0;
  while ((pos = text->find_first_not_of(" \t\r\n", pos)) != std::string::npos) {
    const size_t end = std::min(text->find_first_of(" \t\r\n", pos), text->size());
    words.push_back(text->substr(pos, end - pos));
    pos = end;
  }
  if (!words.empty()) {
    errors.push_back(file + ": run as words split at blanks (execline is not installed)");
  }
  return words;
}

ServiceConfig load_config(const std::string& dir, std::vector<std::string>& errors) {
  ServiceConfig c;
  ServiceFiles files(dir, errors);
  c.has_finish = files.has("finish");
  c.has_log_service = files.has("log") && is_directory(dir + "/log");
  c.start_down = files.has("down");
  files.with("notification-fd",
             [&](auto& t) { c.notification_fd = parse_notification_fd(t, errors); });
  files.with("down-signal", [&](auto& t) {
    if (auto s = parse_down_signal(t, errors)) c.down_signal = *s;
  });
  files.millis("timeout-kill", c.timeout_kill_ms);
  files.millis("timeout-finish", c.timeout_finish_ms);
  files.millis("restart-min-interval", c.restart_min_interval_ms);
  files.millis("restart-max-delay", c.restart_max_delay_ms);
  files.millis("restart-reset", c.restart_reset_ms);
  files.with("log-max-bytes", [&](auto& t) {
    if (auto v = parse_bounded_number("log-max-bytes", t, 1ull << 40, errors)) {
      c.log_max_bytes = std::max<uint64_t>(*v, 4096);
    }
  });
  files.with("log-keep", [&](auto& t) {
    if (auto v = parse_bounded_number("log-keep", t, 1000, errors)) c.log_keep = *v;
  });
  files.with("restart", [&](auto& t) {
    if (auto p = parse_restart_policy(t, errors)) c.restart = *p;
  });
  files.with("halt-codes", [&](auto& t) { c.halt_codes = parse_halt_codes(t, errors); });
  files.with("evidence-keep", [&](auto& t) {
    if (auto v = parse_bounded_number("evidence-keep", t, 10000, errors)) c.evidence_keep = *v;
  });
  if (files.has("health")) {
    c.health.enabled = is_executable_file(dir + "/health");
    if (!c.health.enabled) errors.push_back("health: not an executable file; no health checks");
  }
  files.millis("health-interval", c.health.interval_ms);
  files.millis("health-timeout", c.health.timeout_ms);
  files.with("health-retries", [&](auto& t) {
    if (auto v = parse_bounded_number("health-retries", t, 1000, errors)) {
      c.health.retries = std::max<uint64_t>(*v, 1);
    }
  });
  std::optional<bool> action;
  files.with("health-action", [&](auto& t) { action = parse_health_action(t, errors); });
  files.with("health-restart-retries", [&](auto& t) {
    if (auto v = parse_bounded_number("health-restart-retries", t, 100000, errors)) {
      c.health.restart_retries = std::max<uint64_t>(*v, 1);
    }
  });
  settle_health_thresholds(action, c.health, errors);
  if (c.health.interval_ms == 0) c.health.interval_ms = 1;
  if (files.has("ready-check")) {
    c.ready_check.enabled = is_executable_file(dir + "/ready-check");
    if (!c.ready_check.enabled) {
      errors.push_back("ready-check: not an executable file; ready when started");
    }
  }
  files.millis("ready-check-interval", c.ready_check.interval_ms);
  files.millis("ready-check-timeout", c.ready_check_timeout_ms);
  if (c.ready_check.interval_ms == 0) c.ready_check.interval_ms = 1;
  if (files.has("dependencies.d")) c.dependencies = read_dependencies(dir);
  files.with("type", [&](auto& t) {
    const auto word = trim(t);
    if (word == "oneshot") {
      c.oneshot = true;
    } else if (word != "longrun") {
      errors.push_back("type: " + quoted(word) + " is not longrun or oneshot; longrun kept");
    }
  });
  if (c.oneshot) {
    c.restart.policy = RestartPolicy::Kind::never;  // as s6-rc: a failed oneshot is not retried
    c.start_down = false;  // a oneshot's `down` is its down script (s6-rc), not s6's marker
    if (files.has("up")) c.up_command = script_command(dir, "up", errors);
    if (files.has("down")) c.down_command = script_command(dir, "down", errors);
    if (c.up_command.empty()) errors.push_back("up: missing or empty; the oneshot does nothing");
  }
  if (files.has("env")) load_env_folder(dir + "/env", c, errors);
  return c;
}

}  // namespace svkit::supervise
