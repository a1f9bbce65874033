#include "probes.hpp"

#include <algorithm>

#include "../lib/control.hpp"
#include "../lib/files.hpp"
#include "../lib/json.hpp"

#ifndef SVKIT_VERSION
#define SVKIT_VERSION "unknown"
#endif

namespace svkit::init {

std::vector<ServiceView> read_services(const std::string& scandir) {
  std::vector<ServiceView> services;
  auto names = folder_names(scandir);
  if (!names) return services;
  std::sort(names->begin(), names->end());
  for (auto& name : *names) {
    if (name.starts_with('.')) continue;
    const std::string dir = scandir + "/" + name;
    ServiceView view{.name = std::move(name)};
    if (is_supervised(dir)) {
      if (auto status = read_status(dir)) view.status = std::move(*status);
    }
    services.push_back(std::move(view));
  }
  return services;
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
  void family(const char* name, const char* type, const char* help) {
    name_ = name;
    text_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  // `labels` is already `key="value",...` without braces.
  template <class Number>
  void sample(const std::string& labels, Number value) {
    text_ += name_;
    if (!labels.empty()) text_ += "{" + labels + "}";
    text_ += " " + std::to_string(value) + "\n";
  }
  std::string take() { return std::move(text_); }

 private:
  std::string name_;
  std::string text_;
};

std::string service_label(const ServiceView& s) {
  return "service=\"" + label_value(s.name) + "\"";
}

double seconds(int64_t ms) {
  return double(ms) / 1000.0;
}

}  // namespace

std::string metrics_text(const std::vector<ServiceView>& services) {
  Exposition out;
  out.family("svkit_build_info", "gauge", "svkit's version; always 1.");
  out.sample("version=\"" SVKIT_VERSION "\"", 1);

  auto each = [&](auto emit) {
    for (const auto& s : services) {
      if (s.status) emit(service_label(s), *s.status);
    }
  };
  out.family("svkit_service_supervised", "gauge",
             "1 when a supervise process runs for the service, else 0.");
  for (const auto& s : services) out.sample(service_label(s), s.status ? 1 : 0);
  out.family("svkit_service_state", "gauge",
             "1 for the service's current state, 0 for the others.");
  each([&](const std::string& labels, const Status& st) {
    for (const auto& [state, word] : kRunStateWords) {
      out.sample(labels + ",state=\"" + word + "\"", st.state == state ? 1 : 0);
    }
  });
  out.family("svkit_service_desired_state", "gauge",
             "1 for the state the service is wanted in (up or down), 0 for the other.");
  each([&](const std::string& labels, const Status& st) {
    for (const auto& [want, word] : kWantWords) {
      out.sample(labels + ",state=\"" + word + "\"", st.want == want ? 1 : 0);
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
    out.sample(labels + ",code=\"" + std::to_string(st.last_exit->code) + "\",reason=\"" +
                   label_value(reason) + "\"",
               1);
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

HttpResponse Probes::handle(const HttpRequest& request) const {
  const std::string& path = request.path;
  if (path == "/livez" || path == "/healthz") return text(200, "ok\n");
  if (path == "/readyz") return readyz(request, {});
  if (path.starts_with("/readyz/")) return readyz(request, path.substr(8));
  if (path == "/metrics") {
    return {.content_type = "text/plain; version=0.0.4; charset=utf-8",
            .body = metrics_text(read_services(scandir_))};
  }
  if (path == "/status") return status({});
  if (path.starts_with("/status/")) return status(path.substr(8));
  return text(404, "not found; paths: /livez /readyz /metrics /status\n");
}

HttpResponse Probes::readyz(const HttpRequest& request, const std::string& name) const {
  const bool verbose = request.query == "verbose" || request.query.starts_with("verbose=") ||
                       request.query.find("&verbose") != std::string::npos;
  // The whole container's readiness includes svinit's own stage; one service's does not.
  const std::string init = name.empty() ? init_failure(view_()) : "";
  std::string checks = name.empty() ? check_line("init", init) : "";
  bool ready = init.empty();
  bool found = name.empty();
  for (const auto& s : read_services(scandir_)) {
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

HttpResponse Probes::status(const std::string& name) const {
  auto services = read_services(scandir_);
  if (name.empty()) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& s : services) array.push_back(status_json(s));
    return json_response(200, array);
  }
  for (const auto& s : services) {
    if (s.name == name) return json_response(200, status_json(s));
  }
  return json_response(404, {{"name", name}, {"error", "no such service"}});
}

}  // namespace svkit::init
