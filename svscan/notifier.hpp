// Wakes the supervise processes that wait for dependencies (dependencies.d):
// svscan watches the supervise/ folder of each service that others depend on
// — one inotify instance for all, however many wait — and on every change
// writes control::kDependencyChanged to each dependent's control FIFO.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "../lib/status_watch.hpp"
#include "../lib/uv.hpp"

namespace svkit::svscan {

class DependencyNotifier {
 public:
  DependencyNotifier(uv_loop_t* loop, std::string scandir);

  // Reads every service's dependencies.d again (at each scan); services that
  // are newly watched have their dependents told once, for what changed
  // before the watch began.
  void update(const std::vector<std::string>& services);
  // Who depends on `name`.
  const std::vector<std::string>& dependents_of(const std::string& name) const;
  void stop();

 private:
  void watch(const std::string& name);
  void changed(const std::string& name);

  uv_loop_t* loop_;
  std::string scandir_;
  std::map<std::string, std::vector<std::string>> dependents_;
  std::map<std::string, StatusWatch> watches_;
  bool watch_failed_ = false;  // said once
};

}  // namespace svkit::svscan
