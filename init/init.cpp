#include "init.hpp"

#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/proc.hpp"
#include "../lib/spawn.hpp"
#include "../lib/status.hpp"
#include "termination.hpp"

namespace svkit::init {

namespace {

// Without reaping anything: zombies still count.
bool has_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// SIGKILL to `root`, every descendant and their process groups (supervise
// runs each service in a group of its own). The tree is read before anything
// dies, so re-parented orphans are not missed.
void kill_tree(pid_t root) {
  std::vector<pid_t> pids = descendants_of(root);
  pids.insert(pids.begin(), root);
  const pid_t own_group = ::getpgrp();
  for (pid_t pid : pids) {
    const pid_t group = ::getpgid(pid);
    if (group > 1 && group != own_group) ::kill(-group, SIGKILL);
    ::kill(pid, SIGKILL);
  }
}

}  // namespace

// Exit code when the services are not ready within SVKIT_CMD_WAIT_FOR_SERVICES_MAXTIME.
constexpr int kServicesNotReady = 124;

Init::Init(uv_loop_t* loop, Paths paths, Settings settings, std::vector<std::string> cmd)
    : loop_(loop), paths_(std::move(paths)), settings_(settings), cmd_(std::move(cmd)) {
  sigchld_ = uv::Signal(loop_, SIGCHLD, [this] { reap(); });
  for (int sig : {SIGTERM, SIGINT}) {
    signals_.emplace_back(loop_, sig, [this, sig] { on_stop_signal(sig); });
  }
  for (int sig : {SIGHUP, SIGUSR1, SIGUSR2}) {
    signals_.emplace_back(loop_, sig, [this, sig] { forward(sig); });
  }
  grace_timer_ = uv::Timer(loop_, [this] { grace_expired(); });
  cmd_wait_timer_ = uv::Timer(loop_, [this] {
    if (stage_ != Stage::running || !cmd_wait_) return;
    const std::string who = cmd_wait_->not_ready();
    spdlog::error("services not ready after {} ms: {}; stopping the container",
                  settings_.cmd_wait_ms, who);
    begin_stage3(kServicesNotReady, "services not ready after " +
                                        std::to_string(settings_.cmd_wait_ms) + " ms: " + who);
  });
  svscan_restart_timer_ = uv::Timer(loop_, [this] {
    if (stage_ == Stage::running && start_svscan()) {
      spdlog::info("svscan started again (pid {})", svscan_pid_);
    }
  });
}

int Init::run() {
  start_http();
  hooks_ = list_hooks(paths_.cont_init_dir);
  spdlog::info("stage 2: {} cont-init hooks from {}", hooks_.size(), paths_.cont_init_dir);
  next_hook();
  while (stage_ != Stage::done) uv_run(loop_, UV_RUN_ONCE);
  return exit_code_;
}

// Off unless asked for; a bad address or a busy port is one line, and the
// container boots without it.
void Init::start_http() {
  if (settings_.http_listen.empty()) return;
  // An answer of 1,000 services is most of a megabyte: such buffers are
  // mapped and given back when freed, not kept in svinit's heap (glibc would
  // otherwise raise its mmap threshold after the first one).
  ::mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  probes_ = std::make_unique<Probes>(paths_.scandir, [this] { return view(); });
  http_ = std::make_unique<HttpServer>(
      loop_, [this](const HttpRequest& request) { return probes_->handle(request); });
  if (auto error = http_->listen(settings_.http_listen); !error.empty()) {
    spdlog::error("SVKIT_HTTP_LISTEN: {}; no HTTP endpoint", error);
    http_.reset();
    return;
  }
  spdlog::info("http: listening on {} (/livez /readyz /metrics /status)", http_->address());
}

InitView Init::view() const {
  using Phase = InitView::Phase;
  return {.phase = stage_ == Stage::hooks     ? Phase::booting
                   : stage_ == Stage::running ? Phase::running
                                              : Phase::stopping,
          .has_cmd = !cmd_.empty(),
          .cmd_running = cmd_pid_ > 0};
}

// ---- stage 2 ---------------------------------------------------------------

// Starts the next hook, or svscan and CMD after the last one. A hook that
// cannot start fails here and now; one that runs ends in hook_exited().
void Init::next_hook() {
  while (stage_ == Stage::hooks && next_hook_ < hooks_.size()) {
    current_hook_ = hooks_[next_hook_++];
    if (!is_executable_file(current_hook_)) {
      if (!survive_hook_failure(126, "is not executable", true)) return;
      continue;
    }
    auto started = spawn({.argv = {current_hook_}, .fds = {{0, -1}}});
    if (started.pid > 0) {
      hook_pid_ = started.pid;
      return;
    }
    const int code = started.error == ENOENT ? 127 : 126;
    if (!survive_hook_failure(
            code, "cannot run: " + describe_spawn_error(current_hook_, {}, started.error), true)) {
      return;
    }
  }
  if (stage_ == Stage::hooks) start_services();
}

void Init::hook_exited(int wait_status) {
  if (stage_ != Stage::hooks) return;  // stopped by stage 3
  const int code = exit_code_of(wait_status);
  if (code != 0 && !survive_hook_failure(code, describe_exit(wait_status), false)) return;
  next_hook();
}

// Per SVKIT_BEHAVIOUR_IF_STAGE2_FAILS; false when the boot stops here. A hook
// that cannot run at all is bad input: said even when failures are silent.
bool Init::survive_hook_failure(int exit_code, const std::string& what, bool bad_input) {
  if (settings_.stage2_behaviour >= 2) {
    spdlog::error("cont-init hook {} {}: stopping the boot", current_hook_, what);
    begin_stage3(exit_code, "cont-init hook " + current_hook_ + " " + what);
    return false;
  }
  if (settings_.stage2_behaviour == 1 || bad_input) {
    spdlog::warn("cont-init hook {} {}; going on", current_hook_, what);
  }
  return true;
}

void Init::start_services() {
  stage_ = Stage::running;
  watch_essential_services();
  if (!start_svscan()) return;
  spdlog::info("stage 2: svscan started on {} (pid {}), {} essential services watched",
               paths_.scandir, svscan_pid_, essentials_.size());
  if (!cmd_.empty()) wait_then_start_cmd();
}

void Init::wait_then_start_cmd() {
  cmd_wait_began_ms_ = monotonic_ms();
  // (cmd_wait_ stays, idle, until stage 3: it may not be destroyed from its own callback.)
  cmd_wait_ = std::make_unique<ReadinessWait>(loop_, paths_.scandir, [this] {
    if (stage_ != Stage::running) return;
    spdlog::info("stage 2: the services are ready after {} ms",
                 monotonic_ms() - cmd_wait_began_ms_);
    cmd_wait_timer_.stop();
    start_cmd();
  });
  cmd_wait_->start();
  if (cmd_wait_->waiting() == 0) return;
  spdlog::info("stage 2: CMD waits for {} services to be ready ({})", cmd_wait_->waiting(),
               settings_.cmd_wait_ms > 0
                   ? "at most " + std::to_string(settings_.cmd_wait_ms) + " ms"
                   : std::string("no time limit: SVKIT_CMD_WAIT_FOR_SERVICES_MAXTIME"));
  if (settings_.cmd_wait_ms > 0) cmd_wait_timer_.start(settings_.cmd_wait_ms);
}

// False (and stage 3, exit 111) when svscan cannot run at all.
bool Init::start_svscan() {
  const std::string svscan = libexec_program("svscan");
  auto started = spawn({.argv = {svscan, paths_.scandir}, .fds = {{0, -1}}});
  if (started.pid < 0) {
    spdlog::error("cannot start {}", describe_spawn_error(svscan, {}, started.error));
    begin_stage3(111, "svscan cannot start");
    return false;
  }
  svscan_pid_ = started.pid;
  svscan_started_mono_ms_ = monotonic_ms();
  return true;
}

// The supervise processes outlive svscan and keep their services; a new
// svscan takes them back. A svscan that keeps dying waits longer each time
// (up to a second); a container never goes down for it.
void Init::svscan_died(int wait_status) {
  constexpr uint64_t kFirstDelayMs = 50, kMaxDelayMs = 1000, kStableMs = 1000;
  const bool stable = monotonic_ms() - svscan_started_mono_ms_ >= int64_t(kStableMs);
  svscan_restart_delay_ms_ =
      stable ? kFirstDelayMs
             : std::min(kMaxDelayMs, std::max(kFirstDelayMs, svscan_restart_delay_ms_ * 2));
  spdlog::error("svscan {} on its own; starting it again in {} ms", describe_exit(wait_status),
                svscan_restart_delay_ms_);
  svscan_restart_timer_.start(svscan_restart_delay_ms_);
}

void Init::start_cmd() {
  auto started =
      spawn({.argv = cmd_, .new_session = false, .foreground_group = true, .search_path = true});
  if (started.pid < 0) {
    const bool missing = started.error == ENOENT;
    if (missing) {
      spdlog::error("CMD {}: not found", cmd_[0]);
    } else {
      spdlog::error("CMD {}", describe_spawn_error(cmd_[0], {}, started.error));
    }
    begin_stage3(missing ? 127 : 126, "CMD cannot run");
    return;
  }
  cmd_pid_ = started.pid;
  spdlog::info("stage 2: CMD {} started (pid {})", cmd_[0], cmd_pid_);
}

void Init::watch_essential_services() {
  for (auto& service : find_essential_services(paths_.scandir, settings_.stage2_behaviour >= 2)) {
    auto on_death = [this, oneshot = service.oneshot](const std::string& dir, int code) {
      if (stage_ != Stage::running) return;
      const std::string name = std::filesystem::path(dir).filename().string();
      const std::string what = oneshot ? "oneshot " + name + " failed"
                                       : "essential service " + name + " is down for good";
      spdlog::error("{} (exit code {}); stopping the container", what, code);
      begin_stage3(code, what, true, dir);
    };
    essentials_.push_back(std::make_unique<EssentialWatch>(loop_, std::move(service), on_death));
  }
}

// ---- children and signals ----------------------------------------------------

// Every zombie, orphans included: as PID 1 (or a subreaper) svinit is their parent.
void Init::reap() {
  int ws = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &ws, WNOHANG)) > 0) child_exited(pid, ws);
  if (stage_ == Stage::stopping_rest && !has_children()) finish();
}

void Init::child_exited(pid_t pid, int wait_status) {
  if (pid == hook_pid_) {
    hook_pid_ = 0;
    hook_exited(wait_status);
  } else if (pid == svscan_pid_) {
    svscan_pid_ = 0;
    if (stage_ == Stage::running) {
      svscan_died(wait_status);
    } else if (stage_ == Stage::stopping_services) {
      stop_rest();
    }
  } else if (pid == cmd_pid_) {
    // Take the terminal back from CMD's group (SIGTTOU is ignored here).
    if (::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == pid) {
      ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    }
    cmd_pid_ = 0;
    begin_stage3(exit_code_of(wait_status), "CMD " + describe_exit(wait_status));
  } else if (std::erase(stopping_supervisors_, pid) > 0) {
    if (stopping_supervisors_.empty() && stage_ == Stage::stopping_services) stop_rest();
  } else {
    orphan_exited(pid, wait_status);
  }
}

// The supervise folders of the scandir: every service, and its logger.
std::vector<std::string> Init::supervised_folders() const {
  std::vector<std::string> folders;
  if (auto names = folder_names(paths_.scandir)) {
    for (const auto& name : *names) {
      if (name.starts_with('.')) continue;
      const std::string dir = paths_.scandir + "/" + name;
      folders.push_back(dir);
      if (is_directory(dir + "/log")) folders.push_back(dir + "/log");
    }
  }
  return folders;
}

// After svscan's own death its supervise processes are ours, and so are the
// runs of those that die: a run's wait status goes to the supervise that
// adopted it, as svscan would have done.
void Init::orphan_exited(pid_t pid, int wait_status) {
  if (stage_ != Stage::running) return;
  for (const auto& dir : supervised_folders()) {
    if (recorded_run(dir) == pid) {
      leave_reaped(dir, pid, wait_status);
      return;
    }
  }
}

// A second stop request during stage 3 goes to svscan too: it then stops
// every service at once instead of in reverse dependency order.
void Init::on_stop_signal(int sig) {
  forward(sig);
  if (stage_ == Stage::stopping_services && svscan_pid_ > 0) ::kill(svscan_pid_, SIGTERM);
  begin_stage3(0, "got " + signal_name(sig), false);
}

void Init::forward(int sig) {
  if (cmd_pid_ > 0) ::kill(cmd_pid_, sig);
}

// ---- stage 3 -----------------------------------------------------------------

// The first cause decides the exit code; later ones change nothing.
void Init::begin_stage3(int exit_code, const std::string& why, bool term_cmd,
                        const std::string& service_dir) {
  if (stage_ > Stage::running) return;
  stage_ = Stage::stopping_services;
  svscan_restart_timer_.stop();
  exit_code_ = exit_code;
  cmd_wait_timer_.stop();  // (cmd_wait_ itself stays: this may run from its own callback)
  // The service's state now: by the end of stage 3 its supervise has stopped it.
  termination_message_ = termination_message(exit_code, why, service_dir);
  for (auto& watch : essentials_) watch->stop();
  if (hook_pid_ > 0) ::kill(-hook_pid_, SIGTERM);  // a hook runs in a session of its own
  if (cmd_pid_ > 0 && term_cmd) ::kill(cmd_pid_, SIGTERM);
  if (svscan_pid_ <= 0) {
    // svscan is dead (its restart was pending): its supervise processes are
    // told directly, each brings its service down with its down-signal.
    for (const auto& dir : supervised_folders()) {
      const auto pid = read_pid_file(dir + "/supervise/lock");
      if (pid && ::kill(*pid, SIGTERM) == 0) stopping_supervisors_.push_back(*pid);
    }
    if (stopping_supervisors_.empty()) {
      spdlog::info("stage 3: {}", why);
      stop_rest();
      return;
    }
    spdlog::info("stage 3: {}; svscan is down: stopping {} supervise processes (at most {} ms)",
                 why, stopping_supervisors_.size(), settings_.services_grace_ms);
    grace_timer_.start(settings_.services_grace_ms);
    return;
  }
  // svscan brings every service down with its down-signal and timeout-kill, then exits.
  spdlog::info("stage 3: {}; stopping the services (at most {} ms)", why,
               settings_.services_grace_ms);
  ::kill(svscan_pid_, SIGTERM);
  grace_timer_.start(settings_.services_grace_ms);
}

void Init::grace_expired() {
  if (stage_ == Stage::stopping_services && svscan_pid_ <= 0) {
    spdlog::warn("services still running after {} ms", settings_.services_grace_ms);
    stop_rest();
  } else if (stage_ == Stage::stopping_services && svscan_pid_ > 0) {
    spdlog::warn("services still running after {} ms: SIGKILL to svscan, supervise and services",
                 settings_.services_grace_ms);
    kill_tree(svscan_pid_);  // svscan's exit moves on to stop_rest()
  } else if (stage_ == Stage::stopping_rest) {
    spdlog::warn("processes still running after {} ms: SIGKILL", settings_.kill_grace_ms);
    signal_rest(SIGKILL);
  }
}

// Whatever outlived the services: CMD and its helpers, hooks' daemons, orphans.
void Init::stop_rest() {
  stage_ = Stage::stopping_rest;
  grace_timer_.stop();
  if (!has_children()) {
    finish();
    return;
  }
  spdlog::info("stage 3: SIGTERM to the remaining processes (at most {} ms)",
               settings_.kill_grace_ms);
  signal_rest(SIGTERM);
  grace_timer_.start(settings_.kill_grace_ms);
}

// As PID 1, every process of the namespace; else every descendant (orphans
// come to svinit, a subreaper).
void Init::signal_rest(int sig) {
  if (::getpid() == 1) {
    ::kill(-1, sig);
    if (sig != SIGKILL) ::kill(-1, SIGCONT);
    return;
  }
  for (pid_t pid : descendants_of(::getpid())) {
    ::kill(pid, sig);
    if (sig != SIGKILL) ::kill(pid, SIGCONT);
  }
}

void Init::finish() {
  if (stage_ == Stage::done) return;
  grace_timer_.stop();
  stage_ = Stage::done;
  if (http_) http_->close();
  write_termination_message(settings_.termination_log, settings_.termination_log_create,
                            termination_message_);
  spdlog::info("stage 3: every process is gone; exit code {}", exit_code_);
}

}  // namespace svkit::init
