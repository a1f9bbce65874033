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
// scan (update() then finds its folder).
void DependencyNotifier::watch(const std::string& name) {
  const std::string dir = scandir_ + "/" + name;
  const bool on_supervise = is_directory(dir + "/supervise");
  if (!on_supervise && !is_directory(dir)) return;
  // Only the status file (or supervise/ appearing) counts: the letters this
  // writes land in FIFOs of the same folders, and must not wake it again.
  uv::DirEntryWatch handle(loop_, on_supervise ? dir + "/supervise" : dir,
                           [this, name, on_supervise](const char* file) {
                             const std::string_view entry = file ? file : "";
                             if (on_supervise ? entry != "status.json" : entry != "supervise")
                               return;
                             if (!on_supervise) watch(name);  // now on supervise/
                             changed(name);
                           });
  if (!handle.ok()) {
    watches_.erase(name);  // tried again at the next scan
    if (!watch_failed_) {
      watch_failed_ = true;
      spdlog::error(
          "cannot watch {} (inotify: no instance or watch left?): services that depend "
          "on it start only after a later scan",
          dir);
    }
    return;
  }
  watches_[name] = Watch{.on_supervise = on_supervise, .handle = std::move(handle)};
}

void DependencyNotifier::changed(const std::string& name) {
  const char letter[] = {control::kDependencyChanged};
  for (const auto& dependent : dependents_of(name)) {
    (void)send_control(scandir_ + "/" + dependent, {letter, 1});
  }
}

}  // namespace svkit::svscan
