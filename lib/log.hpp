// svkit's own log: one spdlog logger per program, named after it, level from
// SVKIT_LOG_LEVEL (default info), to stderr.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace svkit {

void init_logging(const std::string& program_name);

}  // namespace svkit
