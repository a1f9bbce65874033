#include "notifier.hpp"

#include "../lib/control.hpp"
#include "../lib/dependencies.hpp"
#include "../lib/files.hpp"
#include "../lib/log.hpp"

namespace svkit::svscan {

DependencyNotifier::DependencyNotifier(uv_loop_t* loop, std::string scandir)
    : loop_(loop), scandir_(std::move(scandir)) {}

void DependencyNotifier::update(const std::vector<std::string>& services) {
  dependents_.clear();
  for (const auto& name : services) {
    for (const auto& dependency : read_dependencies(scandir_ + "/" + name)) {
      dependents_[dependency].push_back(name);
    }
  }
  std::erase_if(watches_, [&](const auto& w) { return !dependents_.contains(w.first); });
  for (const auto& [name, dependents] : dependents_) {
    if (watches_.contains(name)) continue;
    watch(name);
    changed(name);  // what happened before the watch began
  }
}

const std::vector<std::string>& DependencyNotifier::dependents_of(const std::string& name) const {
  static const std::vector<std::string> none;
  auto found = dependents_.find(name);
  return found == dependents_.end() ? none : found->second;
}

void DependencyNotifier::stop() {
  watches_.clear();
}

// A service that does not exist yet is watched through the scandir's next
// scan (update() then finds its folder), and so is one whose watch failed.
void DependencyNotifier::watch(const std::string& name) {
  const std::string dir = scandir_ + "/" + name;
  if (!is_directory(dir)) return;
  auto [watch, added] = watches_.try_emplace(name, loop_, dir, [this, name] { changed(name); });
  if (watch->second.ok()) return;
  watches_.erase(watch);
  if (!watch_failed_) {
    watch_failed_ = true;
    spdlog::error(
        "cannot watch {} (inotify: no instance or watch left?): services that depend "
        "on it start only after a later scan",
        dir);
  }
}

void DependencyNotifier::changed(const std::string& name) {
  const char letter[] = {control::kDependencyChanged};
  for (const auto& dependent : dependents_of(name)) {
    (void)send_control(scandir_ + "/" + dependent, {letter, 1});
  }
}

}  // namespace svkit::svscan
