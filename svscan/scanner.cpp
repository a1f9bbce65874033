#include "scanner.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "../lib/spawn.hpp"

namespace svkit::svscan {

namespace {
// A supervise that died on its own is started again no sooner than this.
constexpr uint64_t kRespawnDelayMs = 1000;
// start_supervise's stdout_fd: leave svscan's own stdout to the child.
constexpr int kInherit = -2;
}  // namespace

Scanner::Scanner(uv_loop_t* loop, std::string scandir, std::string rundir, uint64_t rescan_ms)
    : loop_(loop),
      scandir_(std::move(scandir)),
      rundir_(std::move(rundir)),
      supervise_path_(libexec_program("supervise")),
      rescan_ms_(rescan_ms) {}

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
  if (::mkfifo(fifo.c_str(), 0600) != 0)
    return "cannot create " + fifo + ": " + std::strerror(errno);
  control_read_.reset(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  control_keepalive_.reset(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!control_read_ || !control_keepalive_)
    return "cannot open " + fifo + ": " + std::strerror(errno);

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
    if (rescan_ms_ > 0) rescan_timer_.start(rescan_ms_);
  });
  if (rescan_ms_ > 0) rescan_timer_.start(rescan_ms_);
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
    spdlog::error("cannot read scandir {}: {}", scandir_, std::strerror(errno));
    return;
  }
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string name = entry->d_name;
    const std::string path = scandir_ + "/" + name;
    if (!is_directory(path)) continue;
    Slot& slot = slots_[name];
    slot.present = true;
    if (is_directory(path + "/log")) {
      if (!slot.log_pipe.read) slot.log_pipe = make_pipe();
      if (slot.logger == 0) start_logger(name, slot);
    }
    if (slot.main == 0) start_main(name, slot);
  }
  ::closedir(dir);
  for (auto& [name, slot] : slots_) {
    if (!slot.present) stop_slot(slot);
  }
  std::erase_if(slots_, [](const auto& entry) {
    const Slot& s = entry.second;
    return !s.present && s.main == 0 && s.logger == 0;
  });
}

pid_t Scanner::start_supervise(const std::string& dir, int stdin_fd, int stdout_fd) {
  SpawnRequest request{
      .argv = {supervise_path_, dir}, .fds = {{0, stdin_fd}}, .new_session = false};
  if (stdout_fd != kInherit) request.fds.push_back({1, stdout_fd});
  auto result = spawn(request);
  if (result.pid < 0) {
    spdlog::error("cannot start {} {}: {}", supervise_path_, dir, std::strerror(result.error));
    if (!rescan_timer_.active()) rescan_timer_.start(kRespawnDelayMs);
    return 0;
  }
  return result.pid;
}

void Scanner::start_main(const std::string& name, Slot& slot) {
  const int out = slot.log_pipe.write ? slot.log_pipe.write.get() : kInherit;
  slot.main = start_supervise(scandir_ + "/" + name, -1, out);
  if (slot.main > 0) owners_[slot.main] = name;
}

void Scanner::start_logger(const std::string& name, Slot& slot) {
  slot.logger = start_supervise(scandir_ + "/" + name + "/log", slot.log_pipe.read.get(), kInherit);
  if (slot.logger > 0) owners_[slot.logger] = name;
}

void Scanner::stop_slot(Slot& slot) {
  // The service first; its logger once it is gone, so the last lines are read.
  if (slot.main > 0) {
    ::kill(slot.main, SIGTERM);
  } else if (slot.logger > 0) {
    ::kill(slot.logger, SIGTERM);
  }
}

void Scanner::on_sigchld() {
  int ws = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &ws, WNOHANG)) > 0) child_exited(pid);
  finish_if_idle();
}

void Scanner::child_exited(pid_t pid) {
  auto owner = owners_.find(pid);
  if (owner == owners_.end()) return;  // an orphan, reaped
  const std::string name = owner->second;
  owners_.erase(owner);
  auto it = slots_.find(name);
  if (it == slots_.end()) return;
  Slot& slot = it->second;
  if (slot.main == pid) slot.main = 0;
  if (slot.logger == pid) slot.logger = 0;
  if (shutting_down_ || !slot.present) {
    stop_slot(slot);
    if (!slot.present && slot.main == 0 && slot.logger == 0) slots_.erase(it);
    return;
  }
  spdlog::warn("supervise for {} exited; starting it again", name);
  if (!rescan_timer_.active()) rescan_timer_.start(kRespawnDelayMs);
}

void Scanner::on_control_readable() {
  char buf[64];
  bool wanted = false;
  while (::read(control_read_.get(), buf, sizeof buf) > 0) wanted = true;
  if (wanted) request_scan();
}

void Scanner::shut_down() {
  if (shutting_down_) return;
  shutting_down_ = true;
  scan_timer_.stop();
  rescan_timer_.stop();
  for (auto& [name, slot] : slots_) stop_slot(slot);
  finish_if_idle();
}

void Scanner::finish_if_idle() {
  if (!shutting_down_ || !owners_.empty()) return;
  finished_ = true;
  uv_stop(loop_);
}

}  // namespace svkit::svscan
