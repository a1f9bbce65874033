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

#include <sys/types.h>

#include <functional>
#include <map>
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
  const Status* status = nullptr;  // in the cache; null: not supervised
};

// Every service of the scandir (loggers aside), by name. A status file is
// parsed again only when it was replaced since the last read (supervise
// renames a new file over it on every change, so its inode says).
class StatusCache {
 public:
  explicit StatusCache(std::string scandir) : scandir_(std::move(scandir)) {}
  const std::vector<ServiceView>& refresh();

 private:
  struct Entry {
    ino_t inode = 0;
    int64_t mtime_ns = 0;
    std::optional<Status> status{};
  };
  std::string scandir_;
  std::map<std::string, Entry> entries_;
  std::vector<ServiceView> view_;
};

std::string metrics_text(const std::vector<ServiceView>& services);

class Probes {
 public:
  Probes(std::string scandir, std::function<InitView()> view)
      : services_(std::move(scandir)), view_(std::move(view)) {}

  HttpResponse handle(const HttpRequest& request);

 private:
  HttpResponse readyz(const HttpRequest& request, const std::string& name);
  HttpResponse status(const std::string& name);

  StatusCache services_;
  std::function<InitView()> view_;
};

}  // namespace svkit::init
