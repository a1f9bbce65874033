// What svinit's HTTP endpoint answers (DESIGN.md "HTTP endpoint"): read-only
// views of the scandir's status files and of svinit's own stage.
//   /livez              200 while svinit's loop runs; never depends on a service
//   /readyz[/NAME]      200 when every service wanted up (or NAME) is up, ready
//                       and not unhealthy, and CMD runs when there is one; 503
//                       otherwise, during the hooks and from stage 3 on.
//                       ?verbose lists every check.
//   /metrics            Prometheus text exposition
//   /status[/NAME]      the JSON of `svctl stat --json`
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../lib/status.hpp"
#include "http.hpp"

namespace svkit::init {

// svinit's side of readiness.
struct InitView {
  enum class Phase { booting, running, stopping } phase = Phase::booting;
  bool has_cmd = false;
  bool cmd_running = false;
};

struct ServiceView {
  std::string name{};
  std::optional<Status> status{};  // nullopt: not supervised
};

// Every service of the scandir (loggers aside), by name.
std::vector<ServiceView> read_services(const std::string& scandir);

std::string metrics_text(const std::vector<ServiceView>& services);

class Probes {
 public:
  Probes(std::string scandir, std::function<InitView()> view)
      : scandir_(std::move(scandir)), view_(std::move(view)) {}

  HttpResponse handle(const HttpRequest& request) const;

 private:
  HttpResponse readyz(const HttpRequest& request, const std::string& name) const;
  HttpResponse status(const std::string& name) const;

  std::string scandir_;
  std::function<InitView()> view_;
};

}  // namespace svkit::init
