// CLI11 for svctl, without <iostream>'s static initializer. With GCC's libstdc++ before 13,
// every file that includes <iostream> constructs the standard streams and the
// classic locale at program start; in svkit's one binary that would run in
// every process, each supervise included (20 KiB more private memory each).
// Here <iostream> is kept out, std::cout & co. are declared as <iostream>
// declares them, and a program that may print through CLI11 constructs the
// streams first: exit_with_help below.
#pragma once

#include <version>  // defines __GLIBCXX__ under libstdc++

#if defined(_GLIBCXX_IOSTREAM)
#error "svctl/cli.hpp must be included before <iostream>"
#endif
#if defined(__GLIBCXX__)
#define _GLIBCXX_IOSTREAM 1
#include <istream>
#include <ostream>
namespace std {
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
}  // namespace std
#endif

#include <CLI/CLI.hpp>

namespace svkit {

// CLI11's answer to --help, printed once the standard streams are set up.
inline int exit_with_help(CLI::App& app, const CLI::Error& help) {
  const std::ios_base::Init streams;
  return app.exit(help);
}

}  // namespace svkit
