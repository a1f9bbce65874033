#include "dependency_wait.hpp"

#include "../lib/files.hpp"
#include "../lib/status.hpp"

namespace svkit::supervise {

std::string dependencies_waited_for(const std::string& scandir,
                                    const std::vector<std::string>& names) {
  for (const auto& name : names) {
    const std::string dir = scandir + "/" + name;
    if (!is_directory(dir)) return name + " (no such service)";
    auto status = read_status(dir);
    if (!status) return name + " (not supervised yet)";
    if (status->state == RunState::up && status->ready_since_ms > 0) continue;
    if (status->state == RunState::up) return name + " (not ready)";
    return name + " (" + enum_word(status->state, kRunStateWords) + ")";
  }
  return {};
}

}  // namespace svkit::supervise
