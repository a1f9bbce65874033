// svctl logs [-f] [-n N] [--evidence] [NAME...]: the last N lines of each
// service's log (rotated files included), merged by time with a `name | `
// prefix when several; with -f, followed (inotify: no polling; across
// rotations and restarts). --evidence lists a service's evidence files and
// prints the newest.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace svkit::svctl {

struct Context;

struct LogsOptions {
  std::vector<std::string> names;
  size_t lines = 10;
  bool follow = false;
  bool evidence = false;
};

int logs(const Context& ctx, const LogsOptions& options);

}  // namespace svkit::svctl
