#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include "paths.hpp"

namespace svkit {

void init_logging(const std::string& program_name) {
  auto logger = spdlog::stderr_logger_st(program_name);
  logger->set_pattern("%n: %l: %v");
  logger->set_level(spdlog::level::from_str(env_or("SVKIT_LOG_LEVEL", "info")));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace svkit
