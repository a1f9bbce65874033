// The console copy of service output (DESIGN.md "Environment"): on or off
// with SVKIT_CONSOLE, plain prefixed lines or JSON lines with
// SVKIT_CONSOLE_FORMAT. svinit turns it on unless told otherwise, checks both
// values once and passes the checked ones down; supervise reads them.
#pragma once

#include <string>

namespace svkit {

struct ConsoleSettings {
  enum class Format { plain, json };
  bool enabled = false;
  Format format = Format::plain;
};

// Reads both variables; an unknown value is one warning line (when `warn`)
// and the default.
ConsoleSettings console_from_environment(bool warn);
// Puts `settings` into the environment, for the programs started after.
void export_console(const ConsoleSettings& settings);

}  // namespace svkit
