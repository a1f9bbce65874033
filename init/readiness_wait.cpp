#include "readiness_wait.hpp"

#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/status.hpp"

namespace svkit::init {

ReadinessWait::ReadinessWait(uv_loop_t* loop, std::string scandir, OnReady on_ready)
    : loop_(loop), scandir_(std::move(scandir)), on_ready_(std::move(on_ready)) {
  done_ = uv::Timer(loop_, [this] { on_ready_(); });
}

void ReadinessWait::start() {
  if (auto names = folder_names(scandir_)) {
    for (const auto& name : *names) {
      if (name.starts_with('.') || !wanted_up(scandir_ + "/" + name)) continue;
      const std::string dir = scandir_ + "/" + name;
      auto [watch, added] = pending_.try_emplace(name, loop_, dir, [this, name] { check(name); });
      if (!watch->second.ok()) {
        spdlog::error(
            "cannot watch {} (inotify: no instance or watch left?): CMD does not wait for it", dir);
        pending_.erase(watch);
      }
    }
  }
  // Watch first, then read: a change in between still wakes us.
  for (auto it = pending_.begin(); it != pending_.end();) {
    const std::string name = (it++)->first;  // check() may erase it
    check(name);
  }
  if (pending_.empty()) done_.start(0);
}

void ReadinessWait::check(const std::string& name) {
  if (!pending_.contains(name)) return;
  const std::string dir = scandir_ + "/" + name;
  auto status = read_status(dir);
  const bool done = status ? (status->want != Want::up || not_ready_because(*status).empty())
                           : !is_directory(dir);
  if (!done) return;
  pending_.erase(name);
  if (pending_.empty()) done_.start(0);
}

std::string ReadinessWait::not_ready() const {
  std::string list;
  for (const auto& [name, watch] : pending_) {
    auto status = read_status(scandir_ + "/" + name);
    list += (list.empty() ? "" : ", ") + name + " (" +
            (status ? not_ready_because(*status) : "not supervised yet") + ")";
  }
  return list;
}

}  // namespace svkit::init
