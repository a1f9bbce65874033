#include "dependencies.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "files.hpp"

namespace svkit {

std::vector<std::string> read_dependencies(const std::string& service_dir) {
  return safe_folder_names(service_dir + "/dependencies.d");
}

std::string dependency_problem(const std::string& scandir, const std::string& name) {
  const auto own = read_dependencies(scandir + "/" + name);
  for (const auto& dep : own) {
    if (!is_directory(scandir + "/" + dep)) return dep + " is not a service in " + scandir;
  }
  // Depth-first from `name`: reaching a service still on the path closes a
  // cycle. Only a cycle through `name` is its own problem.
  enum class Mark { visiting, done };
  std::map<std::string, Mark> marks;
  std::vector<std::string> path;
  std::string closing;
  std::function<bool(const std::string&)> visit = [&](const std::string& node) {
    if (auto m = marks.find(node); m != marks.end()) {
      if (m->second == Mark::done) return false;
      closing = node;
      return true;
    }
    marks[node] = Mark::visiting;
    path.push_back(node);
    for (const auto& dep : read_dependencies(scandir + "/" + node)) {
      if (visit(dep)) return true;
    }
    path.pop_back();
    marks[node] = Mark::done;
    return false;
  };
  if (!visit(name) || closing != name) return {};
  std::string cycle = "cycle: ";
  for (const auto& node : path) cycle += node + " -> ";
  return cycle + name;
}

}  // namespace svkit
