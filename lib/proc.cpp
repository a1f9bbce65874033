#include "proc.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "files.hpp"
#include "number.hpp"

namespace svkit {

std::optional<std::string> proc_stat_field(pid_t pid, int field) {
  if (field < 3) return std::nullopt;
  // One short line: read as it comes (a /proc file says size 0), without the
  // 4 KiB guess read_small_file makes (supervise asks at every start).
  const auto line =
      read_small_file_at(AT_FDCWD, "/proc/" + std::to_string(pid) + "/stat", kConfigFileCap);
  if (!line) return std::nullopt;
  const std::string_view text(*line);
  // The command name (field 2) may hold spaces and parentheses: count from
  // the last ')'. Tokens after it are fields 3, 4, ...
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
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
  return field ? parse_number<uint64_t>(*field) : std::nullopt;
}

// The kernel's own arithmetic: nanoseconds of CLOCK_BOOTTIME (the clock it
// stamps a fork with) divided down to USER_HZ, rounding down.
uint64_t boot_clock_ticks() {
  const uint64_t ns_per_tick = 1'000'000'000 / uint64_t(::sysconf(_SC_CLK_TCK));
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return (uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec)) / ns_per_tick;
}

std::optional<pid_t> parent_of(pid_t pid) {
  auto field = proc_stat_field(pid, 4);
  return field ? parse_number<pid_t>(*field) : std::nullopt;
}

std::optional<pid_t> session_of(pid_t pid) {
  auto field = proc_stat_field(pid, 6);
  return field ? parse_number<pid_t>(*field) : std::nullopt;
}

bool is_zombie(pid_t pid) {
  return proc_stat_field(pid, 3) == "Z";
}

UniqueFd open_pidfd(pid_t pid) {
  // glibc 2.36's <sys/pidfd.h> has no C++ linkage for it: the system call itself.
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

std::optional<int> parse_signal(std::string_view text) {
  if (auto number = parse_number<int>(text)) {
    if (*number > 0 && *number < NSIG) return number;
    return std::nullopt;
  }
  if (text.starts_with("SIG")) text.remove_prefix(3);
  if (text.starts_with("RTMIN+")) {
    auto offset = parse_number<int>(text.substr(6));
    if (offset && *offset >= 0 && SIGRTMIN + *offset <= SIGRTMAX) return SIGRTMIN + *offset;
    return std::nullopt;
  }
  if (text == "RTMIN") return SIGRTMIN;
  if (text.empty()) return std::nullopt;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (const char* name = ::sigabbrev_np(sig); name && text == name) return sig;
  }
  return std::nullopt;
}

std::string signal_name(int sig) {
  if (const char* name = ::sigabbrev_np(sig)) return std::string("SIG") + name;
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return "signal " + std::to_string(sig);
}

}  // namespace svkit
