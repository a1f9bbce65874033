#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <stdlib.h>

#include <array>
#include <string_view>
#include <utility>

#include "paths.hpp"

namespace svkit {

namespace {

constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels{{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"critical", spdlog::level::critical},
    {"off", spdlog::level::off},
}};

}  // namespace

void init_logging(const std::string& program_name) {
  auto logger = spdlog::stderr_logger_st(program_name);
  logger->set_pattern("%n: %l: %v");
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  const std::string wanted = env_or("SVKIT_LOG_LEVEL", "info");
  for (auto [name, level] : kLevels) {
    if (wanted == name) {
      logger->set_level(level);
      return;
    }
  }
  logger->set_level(spdlog::level::info);
  // Said once: the programs this one starts inherit the corrected value.
  ::setenv("SVKIT_LOG_LEVEL", "info", 1);
  spdlog::warn(
      "SVKIT_LOG_LEVEL: \"{}\" is not trace, debug, info, warn, error, critical or off; "
      "info kept",
      wanted);
}

}  // namespace svkit
