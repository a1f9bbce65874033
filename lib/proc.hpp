// What /proc says about a process, and signal names.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fd.hpp"

namespace svkit {

// Field 22 of /proc/PID/stat (start time in clock ticks since boot): with the
// pid, it names one process instance; a reused pid has another start time.
std::optional<uint64_t> process_start_time(pid_t pid);
// Now, in the unit of process_start_time. A child forked between two equal
// readings started in that tick: its start time, without reading /proc (which
// costs a restart about 0.1 ms while the child execs).
uint64_t boot_clock_ticks();
// Field `field` (3 or more, as in proc(5)) of /proc/PID/stat, as text.
std::optional<std::string> proc_stat_field(pid_t pid, int field);
std::optional<pid_t> parent_of(pid_t pid);
std::optional<pid_t> session_of(pid_t pid);
bool is_zombie(pid_t pid);

// A pidfd for `pid` (readable once the process has exited), or an empty fd
// with errno set.
UniqueFd open_pidfd(pid_t pid);

// "TERM", "SIGTERM", "RTMIN+2" or "15" → the number; nullopt when unknown.
std::optional<int> parse_signal(std::string_view text);
// "SIGTERM", "SIGRTMIN+2": the C library's names, so every signal has one.
std::string signal_name(int sig);

}  // namespace svkit
