// The at-a-glance line of `svctl stat`, e.g.
//   coder: up (pid 4242) 37s, ready, restarts 0
//   writer: down 12s, normally up, want down (operator), last exit 0
#pragma once

#include <cstdint>
#include <string>

#include "../lib/status.hpp"

namespace svkit::svctl {

std::string stat_line(const Status& status, int64_t now_ms);

}  // namespace svkit::svctl
