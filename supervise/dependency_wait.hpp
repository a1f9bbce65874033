// Waiting for dependencies.d: before a start, supervise asks what it still
// waits for; while it waits it watches each dependency's supervise/ folder
// (where status.json is replaced on every change) with inotify, and the
// scandir for services that do not exist yet. Nothing polls.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../lib/uv.hpp"

namespace svkit::supervise {

class DependencyWait {
 public:
  using OnChange = std::function<void()>;

  DependencyWait(uv_loop_t* loop, std::string scandir, OnChange on_change);

  // "" when every one of `names` is up and ready; else the first that is
  // not, and why: "db (not ready)", "db (backoff)", "db (no such service)".
  std::string waiting_for(const std::vector<std::string>& names) const;

  // Watches `names` (again: a dependency's supervise/ may have appeared).
  void watch(const std::vector<std::string>& names);
  void stop();

 private:
  uv_loop_t* loop_;
  std::string scandir_;
  OnChange on_change_;
  std::vector<uv::DirWatch> watches_;
};

}  // namespace svkit::supervise
