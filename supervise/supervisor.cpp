#include "supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "../lib/clock.hpp"
#include "../lib/console.hpp"
#include "../lib/control.hpp"
#include "../lib/dependencies.hpp"
#include "../lib/files.hpp"
#include "../lib/instance.hpp"
#include "../lib/log.hpp"
#include "../lib/proc.hpp"
#include "../lib/spawn.hpp"
#include "../state/planned_stop.hpp"
#include "../state/profile_state.hpp"
#include "../state/runtime_record.hpp"

namespace svkit::supervise {

using S = Supervisor;
using St = S::State;
using Ev = S::Event;

// The life cycle. Every (state, event) pair not listed is ignored.
constexpr std::array<std::array<S::Action, size_t(Ev::count)>, size_t(St::count)> S::kTransitions =
    [] {
      std::array<std::array<Action, size_t(Ev::count)>, size_t(St::count)> table{};
      for (auto& row : table) row.fill(&S::ignore);
      auto on = [&table](St state, Ev event, Action cell) {
        table[size_t(state)][size_t(event)] = cell;
      };

      on(St::down, Ev::up, &S::start_wanted);
      on(St::down, Ev::once, &S::start_once);
      on(St::down, Ev::down, &S::note_want_down);
      on(St::down, Ev::exit, &S::exit_now);
      on(St::down, Ev::start_failed, &S::start_failed);

      on(St::waiting, Ev::up, &S::note_want_up);
      on(St::waiting, Ev::once, &S::start_once);
      on(St::waiting, Ev::down, &S::cancel_start);
      on(St::waiting, Ev::exit, &S::exit_now);
      on(St::waiting, Ev::dependencies_changed, &S::start_if_dependencies_ready);
      on(St::waiting, Ev::start_failed, &S::start_failed);

      on(St::backoff, Ev::up, &S::start_wanted);
      on(St::backoff, Ev::restart, &S::start_wanted);
      on(St::backoff, Ev::once, &S::start_once);
      on(St::backoff, Ev::down, &S::cancel_start);
      on(St::backoff, Ev::exit, &S::exit_now);
      on(St::backoff, Ev::start_due, &S::start_scheduled);
      on(St::backoff, Ev::start_failed, &S::start_failed);

      on(St::up, Ev::up, &S::note_want_up);
      on(St::up, Ev::once, &S::note_once);
      on(St::up, Ev::down, &S::stop_wanted_down);
      on(St::up, Ev::restart, &S::stop_for_restart);
      on(St::up, Ev::term, &S::term_expecting_death);
      on(St::up, Ev::kill, &S::kill_expecting_death);
      on(St::up, Ev::exit, &S::stop_for_exit);
      on(St::up, Ev::run_died, &S::run_died);
      on(St::up, Ev::ready, &S::mark_ready);
      on(St::up, Ev::unhealthy, &S::restart_unhealthy);
      on(St::up, Ev::ready_timeout, &S::stop_not_ready);

      on(St::stopping, Ev::up, &S::note_want_up);
      on(St::stopping, Ev::once, &S::note_once);
      on(St::stopping, Ev::down, &S::stop_wanted_down);
      on(St::stopping, Ev::restart, &S::stop_for_restart);
      on(St::stopping, Ev::term, &S::term_expecting_death);
      on(St::stopping, Ev::kill, &S::kill_expecting_death);
      on(St::stopping, Ev::exit, &S::stop_for_exit);
      on(St::stopping, Ev::run_died, &S::expected_run_died);
      on(St::stopping, Ev::kill_due, &S::kill_group);
      on(St::stopping, Ev::ready, &S::mark_ready);

      on(St::finishing, Ev::up, &S::note_want_up);
      on(St::finishing, Ev::once, &S::note_once);
      on(St::finishing, Ev::down, &S::note_want_down);
      on(St::finishing, Ev::exit, &S::exit_after_finish);
      on(St::finishing, Ev::finish_died, &S::finish_died);
      on(St::finishing, Ev::finish_due, &S::kill_finish);

      on(St::judging, Ev::restart_now, &S::restart_at_once);
      on(St::judging, Ev::restart_later, &S::restart_after_backoff);
      on(St::judging, Ev::halt, &S::halt);
      on(St::judging, Ev::policy_stop, &S::stop_by_policy);
      on(St::judging, Ev::give_up, &S::give_up);
      on(St::judging, Ev::fail, &S::fail);
      on(St::judging, Ev::rest, &S::rest);
      on(St::judging, Ev::done, &S::oneshot_done);

      on(St::done, Ev::up, &S::note_want_up);
      on(St::done, Ev::down, &S::oneshot_down);
      on(St::done, Ev::exit, &S::oneshot_exit);
      on(St::judging, Ev::start_failed, &S::start_failed);

      on(St::exiting, Ev::run_died, &S::run_died_while_exiting);
      on(St::exiting, Ev::finish_died, &S::exit_now);
      on(St::exiting, Ev::kill_due, &S::kill_group);
      on(St::exiting, Ev::finish_due, &S::kill_finish);
      return table;
    }();

namespace {

// Control letters that change intent are events of the table; the others
// pass a signal to the service.
struct ControlLetter {
  char letter;
  std::optional<Ev> event;
  int signal;
};

constexpr std::array<ControlLetter, 17> kControlLetters{{
    {control::kUp, Ev::up, 0},
    {control::kDown, Ev::down, 0},
    {control::kOnce, Ev::once, 0},
    {control::kExit, Ev::exit, 0},
    {control::kRestart, Ev::restart, 0},
    {control::kTerm, Ev::term, 0},
    {control::kKill, Ev::kill, 0},
    {control::kHup, std::nullopt, SIGHUP},
    {control::kInt, std::nullopt, SIGINT},
    {control::kQuit, std::nullopt, SIGQUIT},
    {control::kAlarm, std::nullopt, SIGALRM},
    {control::kUsr1, std::nullopt, SIGUSR1},
    {control::kUsr2, std::nullopt, SIGUSR2},
    {control::kStop, std::nullopt, SIGSTOP},
    {control::kCont, std::nullopt, SIGCONT},
    {control::kReaped, std::nullopt, 0},
    {control::kDependencyChanged, Ev::dependencies_changed, 0},
}};

// Control bytes handled per loop turn: a flood of them never starves a
// child's death, a timer or a shutdown.
constexpr size_t kControlBytesPerTurn = 128;
// Repeated unknown control bytes are said at most once per this.
constexpr uint64_t kControlErrorIntervalMs = 1000;
// What status keeps of errors.
constexpr size_t kRuntimeErrorsKept = 8;
constexpr size_t kConfigErrorsKept = 16;
constexpr size_t kErrorLineMax = 240;

Ev event_of(Verdict::Kind kind) {
  switch (kind) {
    case Verdict::Kind::restart_now:
      return Ev::restart_now;
    case Verdict::Kind::restart_later:
      return Ev::restart_later;
    case Verdict::Kind::halt:
      return Ev::halt;
    case Verdict::Kind::policy_stop:
      return Ev::policy_stop;
    case Verdict::Kind::give_up:
      return Ev::give_up;
    case Verdict::Kind::fail:
      return Ev::fail;
    case Verdict::Kind::rest:
      return Ev::rest;
    case Verdict::Kind::done:
      return Ev::done;
  }
  return Ev::rest;
}

std::string capped(std::string line) {
  if (line.size() > kErrorLineMax) line.replace(kErrorLineMax - 3, std::string::npos, "...");
  return line;
}

void signal_group(pid_t leader, int sig) {
  // Right after the spawn the child may not lead its group yet.
  if (::kill(-leader, sig) != 0) ::kill(leader, sig);
}

}  // namespace

Supervisor::Supervisor(uv_loop_t* loop, std::string dir, std::string name, const Paths& paths,
                       bool held_pipes)
    : loop_(loop),
      dir_(std::move(dir)),
      name_(std::move(name)),
      log_dir_(paths.log_dir),
      state_dir_(paths.state_dir),
      instance_(read_instance_id(paths.rundir)),
      held_pipes_(held_pipes) {
  status_.name = name_;
  if (state::is_profile(state_dir_, name_)) {
    if (auto refused = state::check_containment(state_dir_, name_)) {
      runtime_errors_.push_back(refused->line + "; nothing is recorded there");
    } else {
      profile_dir_ = state::profile_dir(state_dir_, name_);
    }
  }
}

Supervisor::~Supervisor() = default;

// ---- opening -------------------------------------------------------------

std::optional<S::OpenFailure> Supervisor::open() {
  auto other = [](std::string line) { return OpenFailure{OpenError::other, std::move(line)}; };
  const std::string folder = dir_ + "/supervise";
  if (!is_directory(dir_)) return other("service directory " + dir_ + " does not exist");
  if (auto failure = make_dirs(folder)) return other(failure->line);
  lock_fd_.reset(::open((folder + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock_fd_) return other(errno_error("cannot open " + folder + "/lock").line);
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return OpenFailure{OpenError::already_supervised,
                         dir_ + " is already supervised (lock held by another supervise)"};
    }
    return other(errno_error("cannot lock " + folder + "/lock").line);
  }
  struct stat lock_file {};
  if (::fstat(lock_fd_.get(), &lock_file) == 0) {
    status_.lock_device = lock_file.st_dev;
    status_.lock_inode = lock_file.st_ino;
  }
  // Who holds the lock, for an svscan that has to take this supervise back.
  const std::string own_pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_.get(), 0) != 0 ||
      ::pwrite(lock_fd_.get(), own_pid.data(), own_pid.size(), 0) < 0) {
    return other(errno_error("cannot write " + folder + "/lock").line);
  }
  const std::string fifo = control_path(dir_);
  struct stat st;
  if (::lstat(fifo.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode)) ::unlink(fifo.c_str());
  if (::mkfifo(fifo.c_str(), 0600) != 0 && errno != EEXIST) {
    return other(errno_error("cannot create " + fifo).line);
  }
  ::chmod(fifo.c_str(), 0600);
  control_read_.reset(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  // Holding a writer keeps the FIFO from reporting end-of-file between clients.
  control_keepalive_.reset(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!control_read_ || !control_keepalive_) return other(errno_error("cannot open " + fifo).line);
  if (held_pipes_) {
    stdout_ = {UniqueFd(held_pipes::kStdoutRead), UniqueFd(held_pipes::kStdoutWrite)};
    stderr_ = {UniqueFd(held_pipes::kStderrRead), UniqueFd(held_pipes::kStderrWrite)};
    for (int fd : {held_pipes::kStdoutRead, held_pipes::kStdoutWrite, held_pipes::kStderrRead,
                   held_pipes::kStderrWrite}) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    for (int fd : {held_pipes::kStdoutRead, held_pipes::kStderrRead}) {
      if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        return other(errno_error("--pipes: fd " + std::to_string(fd) + " is not usable").line);
      }
    }
  } else {
    stdout_ = make_pipe(true);
    stderr_ = make_pipe(true);
    if (!stdout_.read || !stderr_.read) {
      return other(errno_error("cannot create the output pipes").line);
    }
  }

  sigchld_ = uv::Signal(loop_, SIGCHLD, [this] { on_sigchld(); });
  sigterm_ = uv::Signal(loop_, SIGTERM, [this] { handle(Ev::exit); });
  sigint_ = uv::Signal(loop_, SIGINT, [this] { handle(Ev::exit); });
  control_watch_ = uv::Readable(loop_, control_read_.get(), [this] { on_control_readable(); });
  stdout_watch_ =
      uv::Readable(loop_, stdout_.read.get(), [this] { on_output_readable(Stream::out); });
  stderr_watch_ =
      uv::Readable(loop_, stderr_.read.get(), [this] { on_output_readable(Stream::err); });
  start_timer_ = uv::Timer(loop_, [this] { handle(Ev::start_due); });
  kill_timer_ = uv::Timer(loop_, [this] { handle(Ev::kill_due); });
  finish_timer_ = uv::Timer(loop_, [this] { handle(Ev::finish_due); });
  control_error_timer_ = uv::Timer(loop_, [this] { report_unknown_control_bytes(); });
  status_retry_timer_ = uv::Timer(loop_, [this] {
    if (status_write_failing_) write_status();
  });
  return std::nullopt;
}

void Supervisor::reload_config() {
  std::vector<std::string> errors;
  config_ = load_config(dir_, errors);
  if (errors.size() > kConfigErrorsKept) errors.resize(kConfigErrorsKept);
  for (auto& e : errors) e = capped(std::move(e));
  // A bad file is reported once, not again at every restart.
  for (const auto& e : errors) {
    if (std::find(config_errors_.begin(), config_errors_.end(), e) == config_errors_.end()) {
      spdlog::error("{}", e);
    }
  }
  config_errors_ = std::move(errors);
}

void Supervisor::begin() {
  reload_config();
  console_fd_ = open_console();
  const auto console = console_from_environment(false);
  output_ = std::make_unique<ServiceOutput>(
      log_dir_ + "/" + name_, name_, config_.log_max_bytes, config_.log_keep,
      Console{.fd = console_fd_ ? console_fd_.get() : -1,
              .format = console.format == ConsoleSettings::Format::json ? Console::Format::json
                                                                        : Console::Format::plain});
  if (console_fd_ && console_reopened_) {
    console_watch_ = uv::Writable(loop_, console_fd_.get(), [this] {
      output_->console_writable();
      watch_console();
    });
  }
  health_ = std::make_unique<HealthMonitor>(
      loop_, dir_, [this](bool passed, uint64_t failures) { on_health_result(passed, failures); },
      [this](const std::string& line) {
        report_error(line);
        run_queue();
      });
  status_.normally = config_.start_down ? Want::down : Want::up;
  status_.want = status_.normally;
  status_.want_by = WantBy::boot;
  status_.since_ms = now_ms();
  if (adopt_orphaned_run()) {
    // Taken back as it runs. (A stop that was under way is not sent again:
    // status cannot tell it from a `once` run, which must go on.)
  } else if (config_.start_down) {
    enter(St::down, RunState::down);
  } else {
    start_as_configured();  // with the config just read
  }
  run_queue();
}

// A supervise that died left its run alive (re-parented to svscan): that run
// is taken back — same pid, no second instance — with what its status said.
// When it cannot be watched it is stopped, so that a new one never runs
// beside it.
bool Supervisor::adopt_orphaned_run() {
  const auto pid = find_orphaned_run(dir_);
  if (!pid) return false;
  UniqueFd pidfd = open_pidfd(*pid);
  if (!pidfd) {
    report_error(errno_error("cannot adopt the running pid " + std::to_string(*pid) +
                             " (pidfd_open); it is killed before a new start")
                     .line);
    signal_group(*pid, SIGKILL);
    return false;
  }
  if (auto prior = read_status(dir_); prior && prior->pid == *pid) {
    status_.since_ms = prior->since_ms;
    status_.ready_since_ms = prior->ready_since_ms;
    status_.want = prior->want;
    status_.want_by = prior->want_by;
    status_.restarts = prior->restarts;
    status_.last_exit = prior->last_exit;
    status_.evidence = prior->evidence;
  } else {
    status_.ready_since_ms = status_.since_ms;
  }
  run_pid_ = *pid;
  started_wall_ms_ = status_.since_ms;
  started_mono_ms_ = monotonic_ms() - std::max<int64_t>(0, now_ms() - status_.since_ms);
  status_.pid = run_pid_;
  status_.pid_start_time = process_start_time(run_pid_).value_or(0);
  adopted_ = std::make_unique<AdoptedRun>(
      loop_, dir_, run_pid_, std::move(pidfd),
      [this](const ExitInfo& exit) { handle(Ev::run_died, {.exit = exit}); });
  status_.health = config_.health.enabled ? Health::unknown : Health::none;
  if (config_.health.enabled) health_->start(config_.health, service_env(), config_.env_unset);
  spdlog::info("adopted the running pid {} left by an earlier supervise", run_pid_);
  const int64_t since = status_.since_ms;
  enter(St::up, RunState::up);
  status_.since_ms = since;  // up since the run started, not since the adoption
  return true;
}

// ---- the queue -------------------------------------------------------------

void Supervisor::post(Event event, EventData data) {
  queue_.emplace_back(event, std::move(data));
}

void Supervisor::handle(Event event, EventData data) {
  post(event, std::move(data));
  run_queue();
}

void Supervisor::run_queue() {
  if (handling_) return;
  handling_ = true;
  while (!queue_.empty() && !finished_) {
    auto [event, data] = std::move(queue_.front());
    queue_.pop_front();
    (this->*kTransitions[size_t(state_)][size_t(event)])(data);
  }
  handling_ = false;
  if (evidence_snapshot_) write_evidence_snapshot();
  if (dirty_ && !finished_) write_status();
  if (unsynced_evidence_) sync_evidence();
}

// The evidence of a death reaches the disk once what follows it (a restart)
// has begun and the status says so.
void Supervisor::sync_evidence() {
  const bool synced = ::fdatasync(unsynced_evidence_.get()) == 0;
  unsynced_evidence_.reset();
  if (synced) return;
  report_error(errno_error("cannot sync " + status_.evidence).line);
  if (dirty_ && !finished_) write_status();
}

// ---- cells: intent -----------------------------------------------------------

void Supervisor::start_wanted(const EventData&) {
  start_timer_.stop();
  history_ = {};
  set_want(Want::up, WantBy::operator_action);
  start();
}

// As in s6: once is "want down", and a start.
void Supervisor::start_once(const EventData&) {
  start_timer_.stop();
  set_want(Want::down, WantBy::operator_action);
  start();
}

void Supervisor::start_scheduled(const EventData&) {
  start();
}

void Supervisor::cancel_start(const EventData&) {
  start_timer_.stop();
  if (state_ == St::waiting) status_.reason.clear();
  set_want(Want::down, WantBy::operator_action);
  enter(St::down, RunState::down);
}

void Supervisor::note_want_up(const EventData&) {
  set_want(Want::up, WantBy::operator_action);
}

void Supervisor::note_want_down(const EventData&) {
  set_want(Want::down, WantBy::operator_action);
}

void Supervisor::note_once(const EventData&) {
  set_want(Want::down, WantBy::operator_action);
}

void Supervisor::stop_wanted_down(const EventData&) {
  set_want(Want::down, WantBy::operator_action);
  send_down_signal();
  enter(St::stopping, RunState::up);
}

void Supervisor::stop_for_restart(const EventData&) {
  send_down_signal();
  enter(St::stopping, RunState::up);
}

void Supervisor::term_expecting_death(const EventData&) {
  ::kill(run_pid_, SIGTERM);
  enter(St::stopping, RunState::up);
}

void Supervisor::kill_expecting_death(const EventData&) {
  ::kill(run_pid_, SIGKILL);
  enter(St::stopping, RunState::up);
}

void Supervisor::stop_for_exit(const EventData&) {
  send_down_signal();
  stop_checks();  // nothing is judged while exiting; they would start at nice 19
  yield_to_stopping_service();
  enter(St::exiting, RunState::up);
}

// At a shutdown of many services, each service's own way out (flushing,
// closing) comes before its supervisor's bookkeeping: with nice 19 a thousand
// exiting supervise processes no longer share the CPU evenly with the services
// they stopped. Not when a finish script is to run: it would inherit the
// priority, and an unprivileged process cannot lower its nice value again. Nor
// when svscan waits for this supervise before it stops another: a service with
// dependencies (they are stopped once its status says down) or with a logger
// (stopped once this supervise has exited).
void Supervisor::yield_to_stopping_service() {
  constexpr int kExitingNice = 19;
  if (config_.has_finish || config_.has_log_service || !config_.dependencies.empty()) return;
  ::setpriority(PRIO_PROCESS, 0, kExitingNice);
}

void Supervisor::exit_after_finish(const EventData&) {
  enter(St::exiting, RunState::finish);
}

void Supervisor::exit_now(const EventData&) {
  start_timer_.stop();
  enter(St::down, RunState::down);
  finished_ = true;
  write_status();
  uv_stop(loop_);
}

// ---- cells: deaths -------------------------------------------------------------

void Supervisor::run_died(const EventData& e) {
  const Death death = record_death(e.exit, false);
  if (start_finish(death)) return;
  conclude(death);
}

void Supervisor::expected_run_died(const EventData& e) {
  const bool not_ready = std::exchange(not_ready_in_time_, false);
  Death death = record_death(e.exit, !not_ready);
  if (not_ready) {
    death.failure = "not ready within " + std::to_string(config_.ready_check_timeout_ms) +
                    " ms (ready-check), then " + death.describe();
  }
  if (start_finish(death)) return;
  conclude(death);
}

void Supervisor::run_died_while_exiting(const EventData& e) {
  const Death death = record_death(e.exit, true);
  if (start_finish(death)) return;  // still exiting: finish's death ends supervise
  exit_now({});
}

void Supervisor::start_failed(const EventData& e) {
  report_error("cannot start " + e.error);
  conclude(Death{.started_ms = now_ms(), .start_error = e.error});
}

void Supervisor::finish_died(const EventData& e) {
  finish_timer_.stop();
  finish_pid_ = 0;
  Death death = *std::exchange(finishing_death_, std::nullopt);
  if (WIFEXITED(e.wait_status)) death.finish_code = WEXITSTATUS(e.wait_status);
  conclude(death);
}

void Supervisor::kill_group(const EventData&) {
  spdlog::warn("still alive {} ms after {}; sending SIGKILL", config_.timeout_kill_ms,
               signal_name(config_.down_signal));
  if (run_pid_ > 0) signal_group(run_pid_, SIGKILL);
}

void Supervisor::kill_finish(const EventData&) {
  spdlog::warn("finish still running after {} ms; killed", config_.timeout_finish_ms);
  if (finish_pid_ > 0) signal_group(finish_pid_, SIGKILL);
}

// ---- cells: the running service --------------------------------------------------

void Supervisor::mark_ready(const EventData&) {
  status_.ready_since_ms = now_ms();
  publish();
}

void Supervisor::stop_not_ready(const EventData&) {
  spdlog::warn("not ready within {} ms (ready-check); stopping it", config_.ready_check_timeout_ms);
  not_ready_in_time_ = true;
  send_down_signal();
  enter(St::stopping, RunState::up);
}

void Supervisor::start_if_dependencies_ready(const EventData&) {
  start();
}

void Supervisor::restart_unhealthy(const EventData&) {
  spdlog::warn("unhealthy: {} health checks in a row failed; restarting",
               config_.health.restart_retries);
  leave_evidence("unhealthy",
                 "unhealthy: " + std::to_string(config_.health.restart_retries) +
                     " health checks in a row failed",
                 "restart at once", run_pid_, std::nullopt);
  ++status_.restarts;
  send_down_signal();
  enter(St::stopping, RunState::up);
}

// ---- cells: verdicts ---------------------------------------------------------------

void Supervisor::restart_at_once(const EventData& e) {
  history_ = e.verdict.history;
  if (e.verdict.counted) ++status_.restarts;
  start();
}

void Supervisor::restart_after_backoff(const EventData& e) {
  history_ = e.verdict.history;
  ++status_.restarts;
  status_.reason = e.verdict.reason;
  status_.delay_ms = e.verdict.delay_ms;
  status_.next_start_ms = now_ms() + e.verdict.delay_ms;
  start_timer_.start(uint64_t(e.verdict.delay_ms));
  enter(St::backoff, RunState::backoff);
}

void Supervisor::halt(const EventData& e) {
  history_ = e.verdict.history;
  status_.reason = e.verdict.reason;
  if (status_.last_exit) {
    if (auto named = config_.halt_codes.find(status_.last_exit->code);
        named != config_.halt_codes.end()) {
      status_.halt_name = named->second;
    }
  }
  read_halt_intent();
  enter(St::down, RunState::halted);
}

// The file a service may leave before it exits with a halt code: a small
// JSON object, its "reason" shown with the halt. Bad content is one error line.
void Supervisor::read_halt_intent() {
  const std::string path = halt_intent_path();
  auto text = read_small_file(path, kConfigFileCap);
  if (!text) {
    if (text.error().errnum != ENOENT) report_error("halt intent: " + text.error().line);
    return;
  }
  ::unlink(path.c_str());
  auto intent = nlohmann::json::parse(*text, nullptr, false);
  if (!intent.is_object()) {
    report_error("halt intent: " + path + " is not a JSON object; ignored");
    return;
  }
  if (auto reason = intent.find("reason"); reason != intent.end() && reason->is_string()) {
    status_.reason += ": " + reason->get<std::string>();
  }
  status_.halt_intent = std::move(intent);
}

std::string Supervisor::halt_intent_path() const {
  return dir_ + "/supervise/halt-intent.json";
}

// The policy ends the runs; `want` stays the operator's.
void Supervisor::stop_by_policy(const EventData& e) {
  history_ = e.verdict.history;
  status_.reason = e.verdict.reason;
  status_.want_by = WantBy::policy;
  enter(St::down, RunState::down);
}

void Supervisor::give_up(const EventData& e) {
  history_ = e.verdict.history;
  status_.reason = e.verdict.reason;
  status_.want_by = WantBy::policy;
  enter(St::down, RunState::failed);
}

void Supervisor::fail(const EventData& e) {
  status_.reason = e.verdict.reason;
  enter(St::down, RunState::failed);
}

void Supervisor::rest(const EventData& e) {
  status_.reason = e.verdict.reason;
  enter(St::down, RunState::down);
}

// ---- cells: oneshots ---------------------------------------------------------------

void Supervisor::oneshot_done(const EventData& e) {
  history_ = e.verdict.history;
  status_.reason.clear();
  enter(St::done, RunState::up);
  status_.ready_since_ms = now_ms();
}

// `down` runs as `run` would, and its death ends the stop like one.
void Supervisor::oneshot_down(const EventData&) {
  set_want(Want::down, WantBy::operator_action);
  if (run_oneshot_down()) {
    enter(St::stopping, RunState::up);
  } else {
    enter(St::down, RunState::down);
  }
}

void Supervisor::oneshot_exit(const EventData& e) {
  if (run_oneshot_down()) {
    enter(St::exiting, RunState::up);
  } else {
    exit_now(e);
  }
}

bool Supervisor::run_oneshot_down() {
  if (config_.down_command.empty()) return false;
  const auto result = spawn(script_request(config_.down_command));
  if (result.pid < 0) {
    report_error("cannot run " + describe_spawn_error(config_.down_command[0], dir_, result.error));
    return false;
  }
  run_pid_ = result.pid;
  started_mono_ms_ = monotonic_ms();
  started_wall_ms_ = now_ms();
  return true;
}

// ---- steps the cells share ---------------------------------------------------------

// The config is read at every start, so that an edit applies at the next one.
void Supervisor::start() {
  reload_config();
  start_as_configured();
}

void Supervisor::start_as_configured() {
  if (wait_for_dependencies()) return;
  output_->set_limits(config_.log_max_bytes, config_.log_keep);
  if (config_.oneshot && config_.up_command.empty()) {
    post(Ev::start_failed, {.error = "up: no command"});
    return;
  }
  SpawnRequest request =
      script_request(config_.oneshot ? config_.up_command : std::vector<std::string>{"./run"});
  Pipe ready;
  if (config_.notification_fd) {
    ready = make_pipe(true);
    request.fds.push_back({*config_.notification_fd, ready.write.get()});
  }
  ::unlink(halt_intent_path().c_str());  // an earlier run's
  status_.halt_name.clear();
  status_.halt_intent = nullptr;
  status_.health_failures = 0;
  const uint64_t tick_before = boot_clock_ticks();
  const auto result = spawn(request);
  if (result.pid < 0) {
    post(Ev::start_failed, {.error = describe_spawn_error(request.argv[0], dir_, result.error)});
    return;
  }
  const uint64_t tick_after = boot_clock_ticks();
  run_pid_ = result.pid;
  started_mono_ms_ = monotonic_ms();
  started_wall_ms_ = now_ms();
  status_.pid = run_pid_;
  status_.pid_start_time =
      tick_before == tick_after ? tick_before : process_start_time(run_pid_).value_or(0);
  status_.since_ms = started_wall_ms_;
  status_.reason.clear();
  if (ready.read) {
    ready_read_ = std::move(ready.read);
    ready_watch_ = uv::Readable(loop_, ready_read_.get(), [this] { on_ready_readable(); });
  }
  // runit's format: the number and a newline, so `kill $(cat supervise/pid)` works.
  if (auto failure = write_file_atomic(dir_ + "/supervise/pid", std::to_string(run_pid_) + "\n",
                                       Durability::runtime)) {
    report_error(failure->line);
  }
  // Without a readiness protocol, up is ready.
  // A oneshot is ready when its `up` has succeeded, not while it runs.
  const bool readiness = config_.notification_fd || config_.ready_check.enabled || config_.oneshot;
  status_.ready_since_ms = readiness ? 0 : started_wall_ms_;
  if (config_.ready_check.enabled) start_ready_check();
  status_.health = config_.health.enabled ? Health::unknown : Health::none;
  if (config_.health.enabled) health_->start(config_.health, service_env(), config_.env_unset);
  enter(St::up, RunState::up);
  record_started();
}

// run, or a oneshot's up or down: the service's environment, folder and output.
SpawnRequest Supervisor::script_request(std::vector<std::string> argv) {
  SpawnRequest request{.argv = std::move(argv),
                       .extra_env = service_env(),
                       .unset_env = config_.env_unset,
                       .cwd = dir_,
                       .fds = {{2, stderr_.write.get()}}};
  if (!config_.has_log_service) request.fds.push_back({1, stdout_.write.get()});
  // A oneshot's command line split into words names its program as a shell would.
  request.search_path = request.argv[0].find('/') == std::string::npos;
  return request;
}

// True when a dependency is not up and ready: the service waits (state
// `waiting`) and starts on the change that completes them. A
// dependency that can never be met (missing, a cycle) is an error line too.
bool Supervisor::wait_for_dependencies() {
  if (config_.dependencies.empty() || dir_.ends_with("/log")) return false;
  const std::string scandir = dir_.substr(0, dir_.rfind('/'));
  // svscan writes kDependencyChanged to the control FIFO when a dependency's
  // status changes: the letter is the event, read then checked.
  const std::string waiting = dependencies_waited_for(scandir, config_.dependencies);
  if (waiting.empty()) return false;
  const std::string reason = "waiting for " + waiting;
  if (reason != status_.reason) {
    auto problem = dependency_problem(scandir, name_);
    if (!problem.empty() && problem != std::exchange(dependency_problem_, problem)) {
      report_error("dependencies: " + problem + "; not started");
    }
    status_.reason = reason;
    publish();  // only on a change: two services waiting on each other must not ping-pong
  }
  if (state_ != St::waiting) {
    spdlog::debug("{}", reason);
    enter(St::waiting, RunState::down);
  }
  return true;
}

void Supervisor::start_ready_check() {
  if (!ready_check_) {
    ready_check_ = std::make_unique<HealthMonitor>(
        loop_, dir_,
        [this](bool passed, uint64_t) {
          if (!passed) return;
          ready_check_->stop();
          ready_timeout_timer_.stop();
          handle(Ev::ready);
        },
        [this](const std::string& line) {
          report_error(line);
          run_queue();
        });
    ready_timeout_timer_ = uv::Timer(loop_, [this] { handle(Ev::ready_timeout); });
  }
  ready_check_->start(config_.ready_check, service_env(), config_.env_unset);
  if (config_.ready_check_timeout_ms > 0)
    ready_timeout_timer_.start(config_.ready_check_timeout_ms);
}

// What run, finish and the health check see besides the container's
// environment: svkit's own variables (they win), then env/.
std::vector<std::string> Supervisor::service_env() const {
  std::vector<std::string> env{"SVKIT_PLANNED_STOP_FILE=" + state::marker_path(dir_),
                               "SVKIT_SERVICE=" + name_,
                               "SVKIT_HALT_INTENT_FILE=" + halt_intent_path()};
  for (const auto& entry : config_.env_set) {
    if (!entry.starts_with("SVKIT_PLANNED_STOP_FILE=") && !entry.starts_with("SVKIT_SERVICE=") &&
        !entry.starts_with("SVKIT_HALT_INTENT_FILE=")) {
      env.push_back(entry);
    }
  }
  return env;
}

// The down-signal goes to run's whole process group (its own session): an
// operator stopping a service means its helpers too.
void Supervisor::send_down_signal() {
  if (run_pid_ <= 0) return;
  signal_group(run_pid_, config_.down_signal);
  if (config_.down_signal != SIGKILL) signal_group(run_pid_, SIGCONT);
  if (config_.timeout_kill_ms > 0 && !kill_timer_.active()) {
    kill_timer_.start(config_.timeout_kill_ms);
  }
}

void Supervisor::stop_checks() {
  health_->stop();
  if (ready_check_) {
    ready_check_->stop();
    ready_timeout_timer_.stop();
  }
}

void Supervisor::set_want(Want want, WantBy by) {
  status_.want = want;
  status_.want_by = by;
  publish();
}

// Everything a death of run changes, whatever comes next.
Death Supervisor::record_death(const ExitInfo& exit, bool expected) {
  kill_timer_.stop();
  stop_checks();
  adopted_.reset();
  ready_watch_.close();
  ready_read_.reset();
  read_output();  // what the service wrote last belongs to this run
  if (auto failure = output_->flush_partial(now_ms())) report_error(failure->line);
  status_.last_exit = exit;
  if (consume_planned_stop(run_pid_, status_.pid_start_time)) expected = true;
  ::unlink((dir_ + "/supervise/pid").c_str());
  record_exited(exit);
  Death death{.pid = std::exchange(run_pid_, 0),
              .started_ms = started_wall_ms_,
              .exit = exit,
              .expected = expected,
              .uptime_ms = monotonic_ms() - started_mono_ms_};
  status_.pid = 0;
  return death;
}

// s6's convention: finish gets the exit code, or 256 and the signal.
bool Supervisor::start_finish(const Death& death) {
  if (!config_.has_finish || !death.exit) return false;
  const ExitInfo& exit = *death.exit;
  SpawnRequest request{.argv = {"./finish", std::to_string(exit.signal ? 256 : exit.code),
                                std::to_string(exit.signal)},
                       .extra_env = service_env(),
                       .unset_env = config_.env_unset,
                       .cwd = dir_,
                       .fds = {{2, stderr_.write.get()}}};
  if (!config_.has_log_service) request.fds.push_back({1, stdout_.write.get()});
  const auto result = spawn(request);
  if (result.pid < 0) {
    report_error("cannot run " + describe_spawn_error("./finish", dir_, result.error));
    return false;
  }
  finish_pid_ = result.pid;
  finishing_death_ = death;
  if (config_.timeout_finish_ms > 0) finish_timer_.start(config_.timeout_finish_ms);
  if (state_ != St::exiting) enter(St::finishing, RunState::finish);
  return true;
}

// The verdict, its evidence first (so a restart never hides the bug), then
// the verdict as the next event.
void Supervisor::conclude(const Death& death) {
  state_ = St::judging;
  const Verdict verdict = judge(config_, status_.want, death, history_);
  if (verdict.evidence) {
    leave_evidence(death.slug(), verdict.reason.empty() ? death.describe() : verdict.reason,
                   next_step(verdict), death.pid, death.exit);
  }
  post(event_of(verdict.kind), {.verdict = verdict});
}

// The evidence is a snapshot taken now, before anything restarts; the file is
// written at the end of this turn of events, once a restart has been spawned.
void Supervisor::leave_evidence(const std::string& slug, const std::string& reason,
                                const std::string& next, pid_t pid,
                                const std::optional<ExitInfo>& exit) {
  if (evidence_snapshot_) write_evidence_snapshot();
  const int64_t now = now_ms();
  evidence_snapshot_ = EvidenceReport{.service = name_,
                                      .reason_slug = slug,
                                      .reason = reason,
                                      .next = next,
                                      .pid = pid,
                                      .started_ms = pid > 0 ? started_wall_ms_ : now,
                                      .ended_ms = exit ? exit->at_ms : now,
                                      .restarts = status_.restarts,
                                      .exit = exit,
                                      .health_output = health_->last_output(),
                                      .output = recent_output_.contents()};
}

void Supervisor::write_evidence_snapshot() {
  if (!evidence_folder_) {
    evidence_folder_ = std::make_unique<EvidenceFolder>(log_dir_ + "/" + name_ + "/evidence");
  }
  auto written = evidence_folder_->write(*evidence_snapshot_, config_.evidence_keep);
  evidence_snapshot_.reset();
  if (!written) {
    report_error("cannot write evidence: " + written.error().line);
    return;
  }
  if (unsynced_evidence_) sync_evidence();
  status_.evidence = written->path;
  unsynced_evidence_ = std::move(written->unsynced);
  publish();
}

void Supervisor::enter(State state, RunState shown) {
  state_ = state;
  if (status_.state != shown) status_.since_ms = now_ms();
  status_.state = shown;
  status_.pid = run_pid_;
  if (shown != RunState::up) {
    status_.pid_start_time = 0;
    status_.ready_since_ms = 0;
  }
  if (shown != RunState::backoff) {
    status_.delay_ms = 0;
    status_.next_start_ms = 0;
  }
  publish();
}

void Supervisor::write_status() {
  dirty_ = false;
  status_.errors = config_errors_;
  status_.errors.insert(status_.errors.end(), runtime_errors_.begin(), runtime_errors_.end());
  std::string text = fields_line(status_);
  // A change of inner state that shows nothing new (an exit's stop while up)
  // costs no file.
  if (text == written_status_ && !status_write_failing_) return;
  auto failure = write_file_atomic(status_path(dir_), text, Durability::runtime);
  if (!failure) {
    if (status_write_failing_) spdlog::info("status written again");
    status_write_failing_ = false;
    written_status_ = std::move(text);
    return;
  }
  written_status_.clear();
  // A removed service directory is svscan's to act on, not an error.
  if (!is_directory(dir_)) return;
  if (!status_write_failing_) spdlog::error("{}", failure->line);
  status_write_failing_ = true;
  if (failure->errnum == ENOSPC || failure->errnum == EDQUOT) write_status_in_place(text);
  status_retry_timer_.start(1000);
}

// A full scandir has no room for the temp file, but the first page of
// status.json is there already (tmpfs allocates whole pages): the status is
// written over it, and says it was.
void Supervisor::write_status_in_place(const std::string& text) {
  constexpr size_t kPage = 4096;
  Status marked = status_;
  marked.errors.insert(marked.errors.begin(),
                       "status written in place: the scandir is full (No space left on device)");
  std::string line = fields_line(marked);
  if (line.size() > kPage) line = text;
  UniqueFd fd(::open(status_path(dir_).c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd || line.size() > kPage) return;
  if (::pwrite(fd.get(), line.data(), line.size(), 0) == ssize_t(line.size())) {
    (void)!::ftruncate(fd.get(), off_t(line.size()));
  }
}

void Supervisor::report_error(const std::string& line) {
  spdlog::error("{}", line);
  std::string kept = capped(line);
  // The same failure again (a start that keeps failing) is one line, not many.
  if (!runtime_errors_.empty() && runtime_errors_.back() == kept) return;
  if (runtime_errors_.size() == kRuntimeErrorsKept) runtime_errors_.erase(runtime_errors_.begin());
  runtime_errors_.push_back(std::move(kept));
  publish();
}

// Two thresholds: unhealthy at health-retries (evidence, the service keeps
// running), a restart at health-restart-retries (evidence again).
void Supervisor::on_health_result(bool passed, uint64_t failures_in_a_row) {
  output_->health_output(health_->last_output());
  watch_console();
  status_.health_failures = failures_in_a_row;
  const auto& health = config_.health;
  if (passed) {
    status_.health = Health::healthy;
  } else if (health.restart && failures_in_a_row == health.restart_retries) {
    status_.health = Health::unhealthy;
    post(Ev::unhealthy);
  } else if (failures_in_a_row >= health.retries && status_.health != Health::unhealthy) {
    status_.health = Health::unhealthy;
    spdlog::warn("unhealthy: {} health checks in a row failed", failures_in_a_row);
    leave_evidence(
        "unhealthy",
        "unhealthy: " + std::to_string(failures_in_a_row) + " health checks in a row failed",
        health.restart
            ? "restart after " + std::to_string(health.restart_retries - failures_in_a_row) +
                  " more failed checks"
            : "no restart (health-action none)",
        run_pid_, std::nullopt);
  }
  publish();
}

// ---- persisted profiles ----------------------------------------------------------

// Only an operator's marker for exactly this process instance turns its exit
// into want-down; anything else is signal-initiated and changes no intent.
bool Supervisor::consume_planned_stop(pid_t pid, uint64_t start_time) {
  const auto verdict = state::judge_marker(state::read_marker(dir_), pid, start_time, now_ms());
  if (verdict == state::MarkerVerdict::absent) return false;
  ::unlink(state::marker_path(dir_).c_str());
  if (verdict != state::MarkerVerdict::operator_stop) {
    spdlog::info("planned-stop: {} ignored; the exit counts as signal-initiated",
                 state::to_string(verdict));
    return false;
  }
  set_want(Want::down, WantBy::operator_action);
  // svctl down has persisted want=down already; a marker from another tool has not.
  if (!profile_dir_.empty() &&
      state::read_profile_state(state::state_file(state_dir_, name_)).state.want_up) {
    if (auto failure = state::set_want(state_dir_, name_, false, state::by::kPlannedStop)) {
      report_error(failure->line);
    }
  }
  return true;
}

void Supervisor::record_started() {
  if (profile_dir_.empty()) return;
  auto failure =
      state::write_pid_record(profile_dir_, {run_pid_, status_.pid_start_time, instance_});
  if (!failure) {
    failure = state::record_observation(state_dir_, name_,
                                        {.event = state::Observation::Event::started,
                                         .at_ms = started_wall_ms_,
                                         .pid = run_pid_,
                                         .instance = instance_});
  }
  if (failure) report_error(failure->line);
}

void Supervisor::record_exited(const ExitInfo& exit) {
  if (profile_dir_.empty()) return;
  ::unlink(state::pid_record_path(profile_dir_).c_str());
  if (auto failure = state::record_observation(state_dir_, name_,
                                               {.event = state::Observation::Event::exited,
                                                .at_ms = exit.at_ms,
                                                .pid = run_pid_,
                                                .code = exit.code,
                                                .signal = exit.signal,
                                                .instance = instance_})) {
    report_error(failure->line);
  }
}

// ---- event sources -------------------------------------------------------------

void Supervisor::on_sigchld() {
  int ws = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &ws, WNOHANG)) > 0) {
    if (pid == run_pid_) {
      post(Ev::run_died, {.exit = {.code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1,
                                   .signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0,
                                   .at_ms = now_ms()}});
    } else if (pid == finish_pid_) {
      post(Ev::finish_died, {.wait_status = ws});
    } else {
      if (!health_->reaped(pid, ws) && ready_check_) ready_check_->reaped(pid, ws);
    }
  }
  run_queue();
}

void Supervisor::on_control_readable() {
  char buf[kControlBytesPerTurn];
  const ssize_t n = ::read(control_read_.get(), buf, sizeof buf);
  for (ssize_t i = 0; i < n; ++i) {
    const char byte = buf[i];
    if (byte == '\n') continue;
    auto known = std::find_if(kControlLetters.begin(), kControlLetters.end(),
                              [byte](const ControlLetter& c) { return c.letter == byte; });
    if (known == kControlLetters.end()) {
      if (first_unknown_control_byte_ < 0)
        first_unknown_control_byte_ = static_cast<unsigned char>(byte);
      ++unknown_control_bytes_;
    } else if (known->event) {
      post(*known->event);
    } else if (known->letter == control::kReaped) {
      if (adopted_) adopted_->reaped();
    } else if (run_pid_ > 0) {
      ::kill(run_pid_, known->signal);
    }
  }
  if (unknown_control_bytes_ > 0 && !control_error_timer_.active()) report_unknown_control_bytes();
  run_queue();
}

// The first unknown byte is said at once; the ones after it once a second at most.
void Supervisor::report_unknown_control_bytes() {
  if (unknown_control_bytes_ == 0) return;
  char line[96];
  if (first_unknown_control_byte_ >= 0 && unknown_control_bytes_ == 1) {
    std::snprintf(line, sizeof line, "control: unknown command byte 0x%02x ignored",
                  first_unknown_control_byte_);
  } else {
    std::snprintf(line, sizeof line, "control: %llu unknown command bytes ignored (first 0x%02x)",
                  static_cast<unsigned long long>(unknown_control_bytes_),
                  first_unknown_control_byte_);
  }
  unknown_control_bytes_ = 0;
  first_unknown_control_byte_ = -1;
  report_error(line);
  control_error_timer_.start(kControlErrorIntervalMs);
  run_queue();
}

// At most this many reads per loop turn: a service that writes without end
// never starves a death, a timer or a command.
constexpr int kOutputReadsPerTurn = 16;

void Supervisor::on_output_readable(Stream stream) {
  Pipe& pipe = stream == Stream::out ? stdout_ : stderr_;
  for (int i = 0; i < kOutputReadsPerTurn && !output_->console_must_wait(); ++i) {
    auto [buffer, size] = output_->read_buffer();
    const ssize_t n = ::read(pipe.read.get(), buffer, size);
    if (n <= 0) break;
    recent_output_.append(std::string_view(buffer, size_t(n)));
    if (auto failure = output_->feed(stream, size_t(n), now_ms())) report_error(failure->line);
  }
  output_->idle();
  watch_console();
  if (dirty_ && !handling_) run_queue();
}

void Supervisor::read_output() {
  on_output_readable(Stream::out);
  on_output_readable(Stream::err);
}

// A console that cannot keep up: watched until it can. While copies that
// must not be dropped wait, the service's output is not read (it waits too).
void Supervisor::watch_console() {
  if (status_.console_dropped != output_->console_dropped()) {
    status_.console_dropped = output_->console_dropped();
    publish();
  }
  if (!console_fd_ || !console_reopened_) return;
  if (output_->console_fd() < 0) {  // the console is gone: nothing waits on it any more
    console_watch_.stop();
    stdout_watch_.resume();
    stderr_watch_.resume();
    return;
  }
  if (output_->console_stalled()) {
    console_watch_.start();
  } else {
    console_watch_.stop();
  }
  if (output_->console_must_wait()) {
    stdout_watch_.pause();
    stderr_watch_.pause();
  } else {
    stdout_watch_.resume();
    stderr_watch_.resume();
  }
  if (dirty_ && !handling_) run_queue();
}

// Our own open of the console (svscan's stdout, or ours), so that O_NONBLOCK
// is ours alone and never the container's other writers'.
UniqueFd Supervisor::open_console() {
  const int source = held_pipes_ ? held_pipes::kConsole : STDOUT_FILENO;
  UniqueFd held(held_pipes_ ? source : -1);  // fd 7 is ours to close
  if (!console_from_environment(false).enabled) return {};
  struct stat st;
  if (::fstat(source, &st) != 0) return {};
  UniqueFd fd(::open(("/proc/self/fd/" + std::to_string(source)).c_str(),
                     O_WRONLY | O_NONBLOCK | O_APPEND | O_CLOEXEC | O_NOCTTY));
  console_reopened_ = static_cast<bool>(fd);
  // A socket cannot be reopened: its description is shared, so it is written
  // as it is (blocking) and never polled (libuv would make it non-blocking).
  if (!fd) fd.reset(::fcntl(source, F_DUPFD_CLOEXEC, 0));
  return fd;
}

void Supervisor::on_ready_readable() {
  char buf[64];
  const ssize_t n = ::read(ready_read_.get(), buf, sizeof buf);
  if (n < 0 && errno == EAGAIN) return;
  if (n > 0 && std::memchr(buf, '\n', size_t(n)) == nullptr) return;
  ready_watch_.close();
  ready_read_.reset();
  if (n > 0) handle(Ev::ready);
}

}  // namespace svkit::supervise
