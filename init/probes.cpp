#include "probes.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include <algorithm>
#include <array>
#include <iterator>
#include <type_traits>

#include "../lib/control.hpp"
#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/json.hpp"
#include "../lib/log.hpp"

#ifndef SVKIT_VERSION
#define SVKIT_VERSION "unknown"
#endif

namespace svkit::init {

const std::vector<ServiceView>& StatusCache::refresh() {
  view_.clear();
  auto names = folder_names(scandir_);
  if (!names) return view_;
  std::sort(names->begin(), names->end());
  std::map<std::string, Entry> kept;
  // Paths relative to the scandir: a scrape walks 1,000 services' paths.
  UniqueFd scandir_fd(::open(scandir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (auto& name : *names) {
    if (name.starts_with('.')) continue;
    ServiceView view{.name = name};
    struct stat st {};
    if (is_supervised_at(scandir_fd.get(), name) &&
        ::fstatat(scandir_fd.get(), (name + "/supervise/status.json").c_str(), &st, 0) == 0) {
      Entry& entry = kept[name];
      if (auto old = entries_.find(name); old != entries_.end()) entry = std::move(old->second);
      const int64_t mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      if (!entry.status || entry.inode != st.st_ino || entry.mtime_ns != mtime_ns) {
        auto read = read_status_at(scandir_fd.get(), name);
        entry = {.inode = st.st_ino,
                 .mtime_ns = mtime_ns,
                 .status = read ? std::optional<Status>(std::move(*read)) : std::nullopt};
      }
      if (entry.status) view.status = &*entry.status;
    }
    view_.push_back(std::move(view));
  }
  entries_ = std::move(kept);
  return view_;
}

namespace {

// Prometheus' label-value escapes: backslash, double quote, newline.
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Exposition {
 public:
  explicit Exposition(size_t expected_bytes) { text_.reserve(expected_bytes); }
  void family(const char* name, const char* type, const char* help) {
    name_ = name;
    fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }
  // `labels` is already `key="value",...` without braces; `extra` more of them.
  // Appended piece by piece: a scrape of 1,000 services is 16,000 samples.
  template <class Number>
  void sample(const std::string& labels, Number value, std::string_view extra = {}) {
    text_.append(name_).append(1, '{').append(labels).append(extra).append("} ");
    if constexpr (std::is_integral_v<Number>) {
      text_.append(fmt::format_int(value).c_str());
    } else {
      fmt::format_to(std::back_inserter(text_), "{}", value);
    }
    text_ += '\n';
  }
  std::string take() { return std::move(text_); }

 private:
  const char* name_ = "";
  std::string text_;  // reserved once: growing a megabyte by copies cost most of a scrape
};

std::string service_label(const ServiceView& s) {
  return "service=\"" + label_value(s.name) + "\"";
}

double seconds(int64_t ms) {
  return double(ms) / 1000.0;
}

}  // namespace

std::string metrics_text(const std::vector<ServiceView>& services) {
  Exposition out(4096 + services.size() * 1024);
  out.family("svkit_build_info", "gauge", "svkit's version; always 1.");
  out.sample("version=\"" SVKIT_VERSION "\"", 1);

  std::array<std::string, kRunStateWords.size()> state_labels;
  for (const auto& [state, word] : kRunStateWords) {
    state_labels[size_t(state)] = fmt::format(",state=\"{}\"", word);
  }
  std::array<std::string, kWantWords.size()> want_labels;
  for (const auto& [want, word] : kWantWords)
    want_labels[size_t(want)] = fmt::format(",state=\"{}\"", word);
  std::vector<std::string> labels;
  labels.reserve(services.size());
  for (const auto& s : services) labels.push_back(service_label(s));
  auto each = [&](auto emit) {
    for (size_t i = 0; i < services.size(); ++i) {
      if (services[i].status) emit(labels[i], *services[i].status);
    }
  };
  out.family("svkit_service_supervised", "gauge",
             "1 when a supervise process runs for the service, else 0.");
  for (size_t i = 0; i < services.size(); ++i) out.sample(labels[i], services[i].status ? 1 : 0);
  out.family("svkit_service_state", "gauge",
             "1 for the service's current state, 0 for the others.");
  each([&](const std::string& labels, const Status& st) {
    for (const auto& [state, word] : kRunStateWords) {
      out.sample(labels, st.state == state ? 1 : 0, state_labels[size_t(state)]);
    }
  });
  out.family("svkit_service_desired_state", "gauge",
             "1 for the state the service is wanted in (up or down), 0 for the other.");
  each([&](const std::string& labels, const Status& st) {
    for (const auto& [want, word] : kWantWords) {
      out.sample(labels, st.want == want ? 1 : 0, want_labels[size_t(want)]);
    }
  });
  out.family("svkit_service_ready", "gauge", "1 when the service is up and ready, else 0.");
  each([&](const std::string& labels, const Status& st) {
    out.sample(labels, st.state == RunState::up && st.ready_since_ms > 0 ? 1 : 0);
  });
  out.family("svkit_service_start_time_seconds", "gauge",
             "Unix time the running instance started; 0 when it is not running.");
  each([&](const std::string& labels, const Status& st) {
    out.sample(labels, st.state == RunState::up ? seconds(st.since_ms) : 0.0);
  });
  out.family("svkit_service_restarts_total", "counter",
             "Restarts supervise made on its own (crashes, health); not an operator's.");
  each([&](const std::string& labels, const Status& st) { out.sample(labels, st.restarts); });
  out.family("svkit_service_last_exit_code", "gauge",
             "Exit code of the last run; -1 when it was killed by a signal or never ended.");
  each([&](const std::string& labels, const Status& st) {
    out.sample(labels, st.last_exit ? st.last_exit->code : -1);
  });
  out.family("svkit_service_last_exit_signal", "gauge",
             "Signal that killed the last run; 0 when it exited or never ended.");
  each([&](const std::string& labels, const Status& st) {
    out.sample(labels, st.last_exit ? st.last_exit->signal : 0);
  });
  out.family("svkit_service_backoff_seconds", "gauge",
             "The restart delay when the service waits to restart, else 0.");
  each([&](const std::string& labels, const Status& st) {
    out.sample(labels, st.state == RunState::backoff ? seconds(st.delay_ms) : 0.0);
  });
  out.family("svkit_service_healthy", "gauge",
             "Services with a health check: 1 healthy, 0 unhealthy or not checked yet.");
  each([&](const std::string& labels, const Status& st) {
    if (st.health != Health::none) out.sample(labels, st.health == Health::healthy ? 1 : 0);
  });
  out.family("svkit_service_health_failures", "gauge",
             "Services with a health check: checks failed in a row.");
  each([&](const std::string& labels, const Status& st) {
    if (st.health != Health::none) out.sample(labels, st.health_failures);
  });
  out.family("svkit_service_halted", "gauge",
             "1 for a service halted on purpose, with its halt code and reason.");
  each([&](const std::string& labels, const Status& st) {
    if (st.state != RunState::halted || !st.last_exit) return;
    std::string reason = st.halt_name;
    if (auto r = st.halt_intent.find("reason");
        st.halt_intent.is_object() && r != st.halt_intent.end() && r->is_string()) {
      reason = r->get<std::string>();
    }
    out.sample(labels, 1,
               fmt::format(",code=\"{}\",reason=\"{}\"", st.last_exit->code, label_value(reason)));
  });
  out.family("svkit_service_console_dropped_lines_total", "counter",
             "Output lines not copied to a console that could not keep up (all are in the log).");
  each(
      [&](const std::string& labels, const Status& st) { out.sample(labels, st.console_dropped); });
  return out.take();
}

// ---- the handler -------------------------------------------------------------------

namespace {

HttpResponse text(int status, std::string body) {
  return {.status = status, .body = std::move(body)};
}

HttpResponse json_response(int status, const nlohmann::json& value) {
  return {.status = status, .content_type = "application/json", .body = json_line(value)};
}

nlohmann::json status_json(const ServiceView& s) {
  if (!s.status) return {{"name", s.name}, {"supervised", false}};
  nlohmann::json j = *s.status;
  j["supervised"] = true;
  return j;
}

std::string init_failure(const InitView& view) {
  switch (view.phase) {
    case InitView::Phase::booting:
      return "booting (cont-init hooks run)";
    case InitView::Phase::stopping:
      return "shutting down";
    case InitView::Phase::running:
      break;
  }
  return view.has_cmd && !view.cmd_running ? "CMD is not running" : "";
}

std::string check_line(const std::string& check, const std::string& failure) {
  return failure.empty() ? "[+]" + check + " ok\n" : "[-]" + check + " failed: " + failure + "\n";
}

}  // namespace

HttpResponse Probes::handle(const HttpRequest& request) {
  const std::string& path = request.path;
  if (path == "/livez" || path == "/healthz") return text(200, "ok\n");
  if (path == "/readyz") return readyz(request, {});
  if (path.starts_with("/readyz/")) return readyz(request, path.substr(8));
  if (path == "/metrics") {
    return {.content_type = "text/plain; version=0.0.4; charset=utf-8",
            .body = metrics_text(services_.refresh())};
  }
  if (path == "/status") return status({});
  if (path.starts_with("/status/")) return status(path.substr(8));
  return text(404, "not found; paths: /livez /readyz /metrics /status\n");
}

HttpResponse Probes::readyz(const HttpRequest& request, const std::string& name) {
  const bool verbose = request.query == "verbose" || request.query.starts_with("verbose=") ||
                       request.query.find("&verbose") != std::string::npos;
  // The whole container's readiness includes svinit's own stage; one service's does not.
  const std::string init = name.empty() ? init_failure(view_()) : "";
  std::string checks = name.empty() ? check_line("init", init) : "";
  bool ready = init.empty();
  bool found = name.empty();
  for (const auto& s : services_.refresh()) {
    if (!name.empty() && s.name != name) continue;
    found = true;
    if (name.empty() && s.status && s.status->want != Want::up) continue;
    const std::string failure = s.status ? not_ready_because(*s.status) : "not supervised";
    ready = ready && failure.empty();
    checks += check_line("service/" + s.name, failure);
  }
  if (!found) return text(404, "no service " + name + "\n");
  if (!verbose) {
    if (ready) return text(200, "ok\n");
    std::string failed;
    for (size_t at = 0; (at = checks.find("[-]", at)) != std::string::npos; at += 3) {
      failed += checks.substr(at, checks.find('\n', at) - at + 1);
    }
    return text(503, failed + "readyz check failed\n");
  }
  return text(ready ? 200 : 503,
              checks + (ready ? "readyz check passed\n" : "readyz check failed\n"));
}

// The array is written service by service: no document of every status is
// built at once (its many small allocations would stay in svinit's heap).
HttpResponse Probes::status(const std::string& name) {
  const auto& services = services_.refresh();
  if (name.empty()) {
    std::string body = "[";
    for (const auto& s : services) {
      if (body.size() > 1) body += ',';
      body += json_text(status_json(s));
    }
    return {.content_type = "application/json", .body = body + "]\n"};
  }
  for (const auto& s : services) {
    if (s.name == name) return json_response(200, status_json(s));
  }
  return json_response(404, {{"name", name}, {"error", "no such service"}});
}

}  // namespace svkit::init
