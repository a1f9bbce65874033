#include "console.hpp"

#include <stdlib.h>

#include "log.hpp"
#include "paths.hpp"

namespace svkit {

ConsoleSettings console_from_environment(bool warn) {
  ConsoleSettings settings;
  const std::string enabled = env_or("SVKIT_CONSOLE", "");
  if (enabled == "1" || enabled == "on") {
    settings.enabled = true;
  } else if (!enabled.empty() && enabled != "0" && enabled != "off" && warn) {
    spdlog::warn("SVKIT_CONSOLE: \"{}\" is not on, off, 1 or 0; off", enabled);
  }
  const std::string format = env_or("SVKIT_CONSOLE_FORMAT", "plain");
  if (format == "json") {
    settings.format = ConsoleSettings::Format::json;
  } else if (format != "plain" && warn) {
    spdlog::warn("SVKIT_CONSOLE_FORMAT: \"{}\" is not plain or json; plain", format);
  }
  return settings;
}

void export_console(const ConsoleSettings& settings) {
  ::setenv("SVKIT_CONSOLE", settings.enabled ? "on" : "off", 1);
  ::setenv("SVKIT_CONSOLE_FORMAT",
           settings.format == ConsoleSettings::Format::json ? "json" : "plain", 1);
}

}  // namespace svkit
