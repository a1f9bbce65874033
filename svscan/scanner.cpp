#include "scanner.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "../lib/clock.hpp"
#include "../lib/control.hpp"
#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "../lib/proc.hpp"
#include "../lib/spawn.hpp"
#include "../lib/status.hpp"

namespace svkit::svscan {

namespace {

// A supervise that dies younger than a second is started again only after a
// pause: a supervise that cannot run never spins.
constexpr int64_t kYoungDeathMs = 1000;
constexpr int64_t kRespawnPauseMs = 250;

// The arguments of a running process.
std::vector<std::string> command_line(pid_t pid) {
  std::vector<std::string> args;
  auto text = read_small_file("/proc/" + std::to_string(pid) + "/cmdline", 64 * 1024);
  if (!text) return args;
  for (size_t at = 0; at < text->size();) {
    const size_t end = std::min(text->find('\0', at), text->size());
    args.emplace_back(text->substr(at, end - at));
    at = end + 1;
  }
  return args;
}

// A new open of one of `pid`'s pipe fds: /proc/PID/fd/N opens a pipe like a
// FIFO, so either end can be had from any of its fds.
UniqueFd reopen_pipe_end(pid_t pid, int fd, int flags) {
  return UniqueFd(::open(("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd)).c_str(),
                         flags | O_NONBLOCK | O_CLOEXEC));
}

Pipe reopen_pipe(pid_t pid, int fd) {
  Pipe pipe{reopen_pipe_end(pid, fd, O_RDONLY), reopen_pipe_end(pid, fd, O_WRONLY)};
  if (!pipe.read || !pipe.write) return {};
  // Both ends block, as a new pipe's do: the write end is a service's output,
  // the read end a logger's stdin (a `cat` restarted on a non-blocking stdin
  // dies of EAGAIN). A supervise makes its own read ends non-blocking.
  for (int end : {pipe.read.get(), pipe.write.get()}) {
    ::fcntl(end, F_SETFL, ::fcntl(end, F_GETFL) & ~O_NONBLOCK);
  }
  return pipe;
}

void raise_open_file_limit() {
  // Four pipe ends per supervised folder, and the logger pipes: a thousand
  // services need more than the usual soft limit of 1024.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

Scanner::Scanner(uv_loop_t* loop, std::string scandir, std::string rundir, uint64_t rescan_ms)
    : loop_(loop),
      scandir_(std::move(scandir)),
      rundir_(std::move(rundir)),
      supervise_path_(libexec_program("supervise")),
      rescan_ms_(rescan_ms),
      notifier_(loop, scandir_) {}

std::string Scanner::open() {
  if (!is_directory(scandir_)) return "scandir " + scandir_ + " is not a directory";
  if (auto failure = make_dirs(rundir_)) return failure->line;
  const std::string lock = rundir_ + "/svscan.lock";
  lock_fd_.reset(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock_fd_ || ::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    return "another svscan holds " + lock + " (or it cannot be locked: " + std::strerror(errno) +
           ")";
  }
  const std::string fifo = svscan_control_path(rundir_);
  ::unlink(fifo.c_str());
  if (::mkfifo(fifo.c_str(), 0600) != 0) return errno_error("cannot create " + fifo).line;
  control_read_.reset(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  control_keepalive_.reset(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!control_read_ || !control_keepalive_) return errno_error("cannot open " + fifo).line;
  raise_open_file_limit();
  // The console every supervise copies output to: ours, when we have one.
  console_fd_ = ::fcntl(STDOUT_FILENO, F_GETFD) >= 0 ? STDOUT_FILENO : -1;

  // Orphans of the services are re-parented here, and reaped.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigchld_ = uv::Signal(loop_, SIGCHLD, [this] { on_sigchld(); });
  sigterm_ = uv::Signal(loop_, SIGTERM, [this] { shut_down(); });
  sigint_ = uv::Signal(loop_, SIGINT, [this] { shut_down(); });
  sighup_ = uv::Signal(loop_, SIGHUP, [this] { request_scan(); });
  control_watch_ = uv::Readable(loop_, control_read_.get(), [this] { on_control_readable(); });
  dir_watch_ = uv::DirWatch(loop_, scandir_, [this] { request_scan(); });
  if (!dir_watch_.ok()) spdlog::warn("cannot watch {}; rescans only on request", scandir_);
  scan_timer_ = uv::Timer(loop_, [this] { scan(); });
  rescan_timer_ = uv::Timer(loop_, [this] {
    scan();
    rescan_timer_.start(rescan_ms_);
  });
  if (rescan_ms_ > 0) rescan_timer_.start(rescan_ms_);
  respawn_timer_ = uv::Timer(loop_, [this] { scan(); });
  return {};
}

void Scanner::request_scan() {
  if (!shutting_down_ && !scan_timer_.active()) scan_timer_.start(0);
}

void Scanner::scan() {
  if (shutting_down_) return;
  for (auto& [name, slot] : slots_) slot.present = false;
  DIR* dir = ::opendir(scandir_.c_str());
  if (!dir) {
    spdlog::error("{}", errno_error("cannot read scandir " + scandir_).line);
    return;
  }
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string name = entry->d_name;
    const std::string path = scandir_ + "/" + name;
    if (entry->d_type != DT_DIR && !is_directory(path)) continue;
    Slot& slot = slots_[name];
    slot.present = true;
    slot.main.dir = path;
    slot.has_logger = is_directory(path + "/log");
    if (slot.has_logger) {
      slot.logger.dir = path + "/log";
      ensure_running(name, slot, slot.logger, true);
    }
    ensure_running(name, slot, slot.main, false);
  }
  ::closedir(dir);
  for (auto& [name, slot] : slots_) {
    if (!slot.present) stop_slot(slot);
  }
  std::vector<std::string> present;
  for (const auto& [name, slot] : slots_) {
    if (slot.present) present.push_back(name);
  }
  notifier_.update(present);
  std::erase_if(slots_, [](const auto& entry) {
    const Slot& s = entry.second;
    return !s.present && s.main.supervise == 0 && s.logger.supervise == 0;
  });
}

void Scanner::ensure_running(const std::string& name, Slot& slot, Unit& unit, bool logger) {
  if (unit.supervise > 0) return;
  const int64_t wait_ms = unit.respawn_at_ms - monotonic_ms();
  if (wait_ms > 0) {
    schedule_respawn(wait_ms);
    return;
  }
  // A supervise already holds it (svscan was restarted): take it back.
  if (is_supervised(unit.dir) && adopt_supervise(slot, unit, logger)) {
    watch_adopted(name, unit);
    return;
  }
  start_supervise(name, slot, unit, logger);
  if (unit.supervise > 0) owners_[unit.supervise] = {name, logger};
}

bool Scanner::adopt_supervise(Slot& slot, Unit& unit, bool logger) {
  const auto pid = read_pid_file(unit.dir + "/supervise/lock");
  if (!pid) return false;
  const auto args = command_line(*pid);
  if (args.empty() || args.back() != unit.dir) return false;
  unit.pidfd = open_pidfd(*pid);
  if (!unit.pidfd) {
    spdlog::error("{}", errno_error("cannot watch the running supervise " + std::to_string(*pid) +
                                    " of " + unit.dir)
                            .line);
    return false;
  }
  unit.supervise = *pid;
  unit.adopted = true;
  unit.started_mono_ms = monotonic_ms();
  // The pipes it was given, held here again.
  if (args.size() > 1 && args[args.size() - 2] == held_pipes::kOption) {
    unit.out = reopen_pipe(*pid, held_pipes::kStdoutRead);
    unit.err = reopen_pipe(*pid, held_pipes::kStderrRead);
  }
  if (slot.has_logger && !slot.log_pipe.read) slot.log_pipe = reopen_pipe(*pid, logger ? 0 : 1);
  spdlog::info("took back the running supervise {} of {}", *pid, unit.dir);
  return true;
}

// The pipe from a service to its logger: the one a running supervise of the
// other side has (svscan was restarted), else a new one.
void Scanner::ensure_log_pipe(const std::string& name, Slot& slot, bool logger) {
  if (slot.log_pipe.read) return;
  Unit& other = logger ? slot.main : slot.logger;
  if (other.supervise == 0 && is_supervised(other.dir) && adopt_supervise(slot, other, !logger)) {
    watch_adopted(name, other);
  }
  if (!slot.log_pipe.read) slot.log_pipe = make_pipe();
}

void Scanner::start_supervise(const std::string& name, Slot& slot, Unit& unit, bool logger) {
  if (slot.has_logger) ensure_log_pipe(name, slot, logger);
  if (!unit.out.read) {
    unit.out = make_pipe();
    unit.err = make_pipe();
    if (!unit.out.read || !unit.err.read) {
      if (!pipes_warned_) {
        spdlog::warn("{}; supervise makes its own output pipes, which do not outlive it",
                     errno_error("cannot hold output pipes").line);
      }
      pipes_warned_ = true;
      unit.out = {};
      unit.err = {};
    }
  }
  SpawnRequest request{.argv = {supervise_path_}, .new_session = false};
  request.fds.push_back({0, logger ? slot.log_pipe.read.get() : -1});
  if (!logger && slot.has_logger) request.fds.push_back({1, slot.log_pipe.write.get()});
  if (unit.out.read) {
    request.argv.push_back(held_pipes::kOption);
    request.fds.insert(request.fds.end(), {{held_pipes::kStdoutRead, unit.out.read.get()},
                                           {held_pipes::kStdoutWrite, unit.out.write.get()},
                                           {held_pipes::kStderrRead, unit.err.read.get()},
                                           {held_pipes::kStderrWrite, unit.err.write.get()},
                                           {held_pipes::kConsole, console_fd_}});
  }
  request.argv.push_back(unit.dir);
  auto result = spawn(request);
  if (result.pid < 0) {
    spdlog::error("cannot start {} {}: {}", supervise_path_, unit.dir, std::strerror(result.error));
    unit.respawn_at_ms = monotonic_ms() + kRespawnPauseMs;
    schedule_respawn(kRespawnPauseMs);
    return;
  }
  unit.supervise = result.pid;
  unit.adopted = false;
  unit.started_mono_ms = monotonic_ms();
}

void Scanner::watch_adopted(const std::string& name, Unit& unit) {
  const bool logger = &unit != &slots_[name].main;
  unit.pidfd_watch = uv::Readable(loop_, unit.pidfd.get(), [this, name, logger] {
    Slot* slot = slot_of(name);
    if (!slot) return;
    Unit& gone = logger ? slot->logger : slot->main;
    gone.pidfd_watch.close();
    gone.pidfd.reset();
    gone.adopted = false;
    supervise_ended(name, gone);
    finish_if_idle();
  });
}

Scanner::Slot* Scanner::slot_of(const std::string& name) {
  auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : &it->second;
}

void Scanner::on_sigchld() {
  int ws = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &ws, WNOHANG)) > 0) {
    auto owner = owners_.find(pid);
    if (owner == owners_.end()) {
      orphan_reaped(pid, ws);
      continue;
    }
    const auto [name, logger] = owner->second;
    owners_.erase(owner);
    if (Slot* slot = slot_of(name)) supervise_ended(name, logger ? slot->logger : slot->main);
  }
  finish_if_idle();
}

// A supervise is gone. Its run, when it had one, is now an orphan here: its
// wait status is kept for the supervise that will adopt it.
void Scanner::supervise_ended(const std::string& name, Unit& unit) {
  const bool young = monotonic_ms() - unit.started_mono_ms < kYoungDeathMs;
  unit.supervise = 0;
  if (auto run = recorded_run(unit.dir)) orphaned_runs_[*run] = unit.dir;
  Slot& slot = *slot_of(name);
  if (shutting_down_ || !slot.present) {
    stop_slot(slot);
    if (shutting_down_) stop_unblocked_slots();
    if (!slot.present && slot.main.supervise == 0 && slot.logger.supervise == 0) {
      slots_.erase(name);
    }
    return;
  }
  spdlog::warn("supervise for {} exited; starting it again{}", unit.dir,
               young ? " after a pause" : "");
  if (young) {
    unit.respawn_at_ms = monotonic_ms() + kRespawnPauseMs;
    schedule_respawn(kRespawnPauseMs);
  } else {
    unit.respawn_at_ms = 0;
    request_scan();
  }
}

void Scanner::orphan_reaped(pid_t pid, int wait_status) {
  auto orphan = orphaned_runs_.find(pid);
  if (orphan == orphaned_runs_.end()) return;  // some other orphan: reaped, nothing more
  const std::string dir = orphan->second;
  orphaned_runs_.erase(orphan);
  leave_reaped(dir, pid, wait_status);
}

void Scanner::schedule_respawn(int64_t delay_ms) {
  if (!respawn_timer_.active()) respawn_timer_.start(uint64_t(std::max<int64_t>(delay_ms, 1)));
}

void Scanner::on_control_readable() {
  char buf[64];
  bool wanted = false;
  while (::read(control_read_.get(), buf, sizeof buf) > 0) wanted = true;
  if (wanted) request_scan();
}

void Scanner::stop_slot(Slot& slot) {
  // The service first; its logger once it is gone, so the last lines are read.
  if (slot.main.supervise > 0) {
    ::kill(slot.main.supervise, SIGTERM);
  } else if (slot.logger.supervise > 0) {
    ::kill(slot.logger.supervise, SIGTERM);
  }
}

// Reverse dependency order: a service is told to stop once every service
// whose dependencies.d names it is down. A second SIGTERM stops the rest at once.
void Scanner::shut_down() {
  if (shutting_down_) {
    if (in_order_) spdlog::info("second stop request: stopping every service now");
    in_order_ = false;
    stop_unblocked_slots();
    return;
  }
  shutting_down_ = true;
  scan_timer_.stop();
  rescan_timer_.stop();
  respawn_timer_.stop();
  stop_unblocked_slots();
  finish_if_idle();
}

void Scanner::stop_unblocked_slots() {
  // Called at every reap: once nothing waits for a dependent, there is no
  // slot to walk (a thousand walks of a thousand slots were a third of
  // svscan's CPU in a shutdown of 1,000). No slot appears after shut_down().
  if (every_stop_sent_) return;
  bool any_blocked = false;
  for (auto& [name, slot] : slots_) {
    if (slot.stop_sent) continue;
    const auto& dependents = notifier_.dependents_of(name);
    const bool blocked =
        in_order_ && std::any_of(dependents.begin(), dependents.end(), [&](const auto& d) {
          // A dependent that runs nothing (down, waiting itself) holds no one.
          const Slot* dependent = slot_of(d);
          if (!dependent || dependent->main.supervise <= 0) return false;
          auto status = read_status(dependent->main.dir);
          return !status || status->state == RunState::up || status->state == RunState::finish;
        });
    if (blocked) {
      any_blocked = true;
      continue;
    }
    slot.stop_sent = true;
    stop_slot(slot);
  }
  every_stop_sent_ = !any_blocked;
}

void Scanner::finish_if_idle() {
  if (!shutting_down_) return;
  for (const auto& [name, slot] : slots_) {
    if (slot.main.supervise > 0 || slot.logger.supervise > 0) return;
  }
  finished_ = true;
  uv_stop(loop_);
}

}  // namespace svkit::svscan
