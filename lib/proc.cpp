#include "proc.hpp"

#include <signal.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "files.hpp"

namespace svkit {

std::optional<std::string> proc_stat_field(pid_t pid, int field) {
  if (field < 3) return std::nullopt;
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: count from
  // the last ')'. Tokens after it are fields 3, 4, ...
  auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::string_view rest(*text);
  rest.remove_prefix(close + 1);
  size_t pos = 0;
  for (int f = 3;; ++f) {
    pos = rest.find_first_not_of(" \n", pos);
    if (pos == std::string_view::npos) return std::nullopt;
    const size_t end = std::min(rest.find_first_of(" \n", pos), rest.size());
    if (f == field) return std::string(rest.substr(pos, end - pos));
    pos = end;
  }
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  auto field = proc_stat_field(pid, 22);
  if (!field) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(field->data(), field->data() + field->size(), value);
  if (ec != std::errc() || ptr != field->data() + field->size()) return std::nullopt;
  return value;
}

namespace {
constexpr std::array<std::pair<std::string_view, int>, 20> kSignals{{
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"ABRT", SIGABRT},
    {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"SEGV", SIGSEGV},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
    {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"WINCH", SIGWINCH}, {"BUS", SIGBUS},   {"PWR", SIGPWR},
}};
}  // namespace

std::optional<int> parse_signal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && ptr == text.data() + text.size()) {
    if (number > 0 && number < NSIG) return number;
    return std::nullopt;
  }
  if (text.substr(0, 3) == "SIG") text.remove_prefix(3);
  for (auto [name, sig] : kSignals) {
    if (name == text) return sig;
  }
  return std::nullopt;
}

std::string signal_name(int sig) {
  for (auto [name, number] : kSignals) {
    if (number == sig) return "SIG" + std::string(name);
  }
  return "signal " + std::to_string(sig);
}

}  // namespace svkit
