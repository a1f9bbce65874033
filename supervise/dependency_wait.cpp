#include "dependency_wait.hpp"

#include "../lib/files.hpp"
#include "../lib/status.hpp"

namespace svkit::supervise {

DependencyWait::DependencyWait(uv_loop_t* loop, std::string scandir, OnChange on_change)
    : loop_(loop), scandir_(std::move(scandir)), on_change_(std::move(on_change)) {}

std::string DependencyWait::waiting_for(const std::vector<std::string>& names) const {
  for (const auto& name : names) {
    const std::string dir = scandir_ + "/" + name;
    if (!is_directory(dir)) return name + " (no such service)";
    auto status = read_status(dir);
    if (!status) return name + " (not supervised yet)";
    if (status->state == RunState::up && status->ready_since_ms > 0) continue;
    if (status->state == RunState::up) return name + " (not ready)";
    return name + " (" + enum_word(status->state, kRunStateWords) + ")";
  }
  return {};
}

void DependencyWait::watch(const std::vector<std::string>& names) {
  watches_.clear();
  bool scandir_watched = false;
  auto add = [&](const std::string& folder) {
    uv::DirWatch w(loop_, folder, [this] { on_change_(); });
    if (w.ok()) watches_.push_back(std::move(w));
  };
  for (const auto& name : names) {
    const std::string dir = scandir_ + "/" + name;
    if (is_directory(dir + "/supervise")) {
      add(dir + "/supervise");
    } else if (is_directory(dir)) {
      add(dir);  // until its supervise makes supervise/
    } else if (!scandir_watched) {
      scandir_watched = true;
      add(scandir_);  // until the service is added
    }
  }
}

void DependencyWait::stop() {
  watches_.clear();
}

}  // namespace svkit::supervise
