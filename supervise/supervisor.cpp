#include "supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "../lib/clock.hpp"
#include "../lib/control.hpp"
#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/proc.hpp"
#include "../lib/spawn.hpp"
#include "../state/planned_stop.hpp"
#include "../state/profile_state.hpp"
#include "../state/runtime_record.hpp"

namespace svkit::supervise {

using S = Supervisor;

// Rows: states. Columns: want_up, want_down, want_once, exit, restart,
// run_died, finish_died, start_timer, kill_timer, finish_timer, health_due,
// health_done, health_timeout.
const std::array<std::array<S::Action, size_t(S::Event::count)>, size_t(S::State::count)>
    S::kTransitions{{
        // down
        {&S::up_from_down, &S::down_while_down, &S::once_from_down, &S::exit_now, &S::ignore,
         &S::ignore, &S::ignore, &S::ignore, &S::ignore, &S::ignore, &S::ignore,
         &S::health_finished, &S::health_timed_out},
        // waiting
        {&S::start_now, &S::down_while_waiting, &S::once_now, &S::exit_while_waiting, &S::start_now,
         &S::ignore, &S::ignore, &S::start_run, &S::ignore, &S::ignore, &S::ignore,
         &S::health_finished, &S::health_timed_out},
        // up
        {&S::up_while_running, &S::down_while_up, &S::once_while_running, &S::exit_while_up,
         &S::restart_while_up, &S::run_died, &S::ignore, &S::ignore, &S::kill_timer_fired,
         &S::ignore, &S::run_health_check, &S::health_finished, &S::health_timed_out},
        // finishing
        {&S::up_while_running, &S::down_while_finishing, &S::once_while_running,
         &S::exit_while_finishing, &S::ignore, &S::ignore, &S::finish_died, &S::ignore, &S::ignore,
         &S::finish_timer_fired, &S::ignore, &S::health_finished, &S::health_timed_out},
    }};

void Supervisor::dispatch(Event event) {
  (this->*kTransitions[size_t(state_)][size_t(event)])();
}

Supervisor::Supervisor(uv_loop_t* loop, std::string dir, std::string name, const Paths& paths)
    : loop_(loop),
      dir_(std::move(dir)),
      name_(std::move(name)),
      log_dir_(paths.log_dir),
      state_dir_(paths.state_dir),
      instance_(state::read_instance_id(paths.rundir)) {
  status_.name = name_;
  if (state::is_profile(state_dir_, name_)) profile_dir_ = state::profile_dir(state_dir_, name_);
}

Supervisor::~Supervisor() = default;

// ---- opening -------------------------------------------------------------

std::string Supervisor::open() {
  const std::string folder = dir_ + "/supervise";
  if (!is_directory(dir_)) return "service directory " + dir_ + " does not exist";
  if (!make_dirs(folder)) return "cannot create " + folder + ": " + std::strerror(errno);
  lock_fd_.reset(::open((folder + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock_fd_) return "cannot open " + folder + "/lock: " + std::strerror(errno);
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    return errno == EWOULDBLOCK ? dir_ + " is already supervised (lock held by another supervise)"
                                : "cannot lock " + folder + "/lock: " + std::strerror(errno);
  }
  const std::string fifo = control_path(dir_);
  struct stat st;
  if (::lstat(fifo.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode)) ::unlink(fifo.c_str());
  if (::mkfifo(fifo.c_str(), 0600) != 0 && errno != EEXIST) {
    return "cannot create " + fifo + ": " + std::strerror(errno);
  }
  ::chmod(fifo.c_str(), 0600);
  control_read_.reset(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  // Holding a writer keeps the FIFO from reporting end-of-file between clients.
  control_keepalive_.reset(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!control_read_ || !control_keepalive_) {
    return "cannot open " + fifo + ": " + std::strerror(errno);
  }
  output_ = make_pipe(true);
  if (!output_.read) return std::string("cannot create output pipe: ") + std::strerror(errno);

  sigchld_ = uv::Signal(loop_, SIGCHLD, [this] { on_sigchld(); });
  sigterm_ = uv::Signal(loop_, SIGTERM, [this] { dispatch(Event::exit); });
  sigint_ = uv::Signal(loop_, SIGINT, [this] { dispatch(Event::exit); });
  control_watch_ = uv::Readable(loop_, control_read_.get(), [this] { on_control_readable(); });
  output_watch_ = uv::Readable(loop_, output_.read.get(), [this] { on_output_readable(); });
  start_timer_ = uv::Timer(loop_, [this] { dispatch(Event::start_timer); });
  kill_timer_ = uv::Timer(loop_, [this] { dispatch(Event::kill_timer); });
  finish_timer_ = uv::Timer(loop_, [this] { dispatch(Event::finish_timer); });
  health_timer_ = uv::Timer(loop_, [this] { dispatch(Event::health_due); });
  health_timeout_timer_ = uv::Timer(loop_, [this] { dispatch(Event::health_timeout); });
  return {};
}

void Supervisor::reload_config() {
  std::vector<std::string> errors;
  config_ = load_config(dir_, errors);
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
  output_log_ =
      std::make_unique<OutputLog>(log_dir_ + "/" + name_, config_.log_max_bytes, config_.log_keep);
  status_.normally_up = !config_.start_down;
  status_.want_up = !config_.start_down;
  status_.want_by = "boot";
  if (config_.start_down) {
    enter(State::down, RunState::down);
  } else {
    start_run();
  }
}

// ---- cells ---------------------------------------------------------------

void Supervisor::up_from_down() {
  history_ = {};
  status_.want_up = true;
  status_.once = false;
  status_.want_by = "operator";
  permanent_failure_ = false;
  start_run();
}

void Supervisor::once_from_down() {
  status_.want_up = true;
  status_.once = true;
  status_.want_by = "operator";
  permanent_failure_ = false;
  start_run();
}

void Supervisor::down_while_down() {
  status_.want_up = false;
  status_.want_by = "operator";
  publish();
}

void Supervisor::exit_now() {
  finished_ = true;
  publish();
  uv_stop(loop_);
}

void Supervisor::start_now() {
  start_timer_.stop();
  history_ = {};
  status_.want_up = true;
  status_.once = false;
  status_.want_by = "operator";
  start_run();
}

void Supervisor::once_now() {
  start_timer_.stop();
  status_.want_up = true;
  status_.once = true;
  status_.want_by = "operator";
  start_run();
}

void Supervisor::down_while_waiting() {
  start_timer_.stop();
  status_.want_up = false;
  status_.want_by = "operator";
  status_.next_start_ms = 0;
  enter(State::down, RunState::down);
}

void Supervisor::exit_while_waiting() {
  start_timer_.stop();
  status_.want_up = false;
  exit_now();
}

void Supervisor::up_while_running() {
  status_.want_up = true;
  status_.once = false;
  status_.want_by = "operator";
  publish();
}

void Supervisor::once_while_running() {
  status_.want_up = true;
  status_.once = true;
  status_.want_by = "operator";
  publish();
}

void Supervisor::down_while_up() {
  status_.want_up = false;
  status_.want_by = "operator";
  publish();
  stop_run();
}

void Supervisor::restart_while_up() {
  restart_requested_ = true;
  stop_run();
}

void Supervisor::exit_while_up() {
  exiting_ = true;
  status_.want_up = false;
  publish();
  stop_run();
}

void Supervisor::down_while_finishing() {
  status_.want_up = false;
  status_.want_by = "operator";
  publish();
}

void Supervisor::exit_while_finishing() {
  exiting_ = true;
  status_.want_up = false;
  publish();
}

void Supervisor::run_died() {
  kill_timer_.stop();
  health_timer_.stop();
  // A check of a dead service means nothing, and must not outlive supervise.
  if (health_pid_ > 0) ::kill(-health_pid_, SIGKILL);
  ready_watch_.close();
  ready_read_.reset();
  if (auto e = output_log_->flush_partial(); !e.empty()) report_error(e);
  const int ws = last_wait_status_;
  ExitInfo exit{WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, WIFSIGNALED(ws) ? WTERMSIG(ws) : 0, now_ms()};
  status_.last_exit = exit;
  consume_planned_stop(run_pid_, status_.pid_start_time);
  last_run_pid_ = std::exchange(run_pid_, 0);
  ::unlink((dir_ + "/supervise/pid").c_str());
  record_exited(exit);
  if (!config_.has_finish) {
    after_run();
    return;
  }
  // s6's convention: finish gets the exit code, or 256 and the signal.
  const std::string code = std::to_string(exit.signal ? 256 : exit.code);
  SpawnRequest request{{"./finish", code, std::to_string(exit.signal)}, {}, dir_, {}, true};
  request.fds.push_back({2, output_.write.get()});
  if (!config_.has_log_service) request.fds.push_back({1, output_.write.get()});
  auto result = spawn(request);
  if (result.pid < 0) {
    report_error(std::string("cannot run finish: ") + std::strerror(result.error));
    after_run();
    return;
  }
  finish_pid_ = result.pid;
  if (config_.timeout_finish_ms > 0) finish_timer_.start(config_.timeout_finish_ms);
  enter(State::finishing, RunState::finish);
}

void Supervisor::kill_timer_fired() {
  spdlog::warn("still alive {} ms after {}; sending SIGKILL", config_.timeout_kill_ms,
               signal_name(config_.down_signal));
  if (run_pid_ > 0) {
    ::kill(-run_pid_, SIGKILL);
    ::kill(run_pid_, SIGKILL);
  }
}

void Supervisor::finish_died() {
  finish_timer_.stop();
  const int ws = last_wait_status_;
  finish_pid_ = 0;
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 125) {
    permanent_failure_ = true;
    status_.reason = "finish exited 125: permanent failure, not restarted";
  }
  after_run();
}

void Supervisor::finish_timer_fired() {
  spdlog::warn("finish still running after {} ms; killed", config_.timeout_finish_ms);
  if (finish_pid_ > 0) {
    ::kill(-finish_pid_, SIGKILL);
    ::kill(finish_pid_, SIGKILL);
  }
}

// ---- shared steps ------------------------------------------------------------

void Supervisor::after_run() {
  const bool requested = std::exchange(restart_requested_, false);
  if (exiting_) {
    enter(State::down, RunState::down);
    exit_now();
    return;
  }
  if (permanent_failure_) {
    enter(State::down, RunState::failed);
    return;
  }
  if (status_.once) {
    status_.once = false;
    status_.want_up = false;
  }
  if (!status_.want_up) {
    enter(State::down, RunState::down);
    return;
  }
  if (requested) {  // svctl restart, or a health restart that left its evidence
    ++status_.restarts;
    start_run();
    return;
  }
  const ExitInfo& exit = *status_.last_exit;
  leave_evidence(
      exit.signal ? "signal-" + signal_name(exit.signal) : "exit-" + std::to_string(exit.code),
      exit.signal ? "killed by " + signal_name(exit.signal)
                  : "exited " + std::to_string(exit.code));
  apply_restart_policy();
}

void Supervisor::apply_restart_policy() {
  using Kind = RestartDecision::Kind;
  const auto decision =
      decide_restart(config_, *status_.last_exit, now_ms() - started_ms_, history_);
  history_ = decision.history;
  status_.reason = decision.reason;
  switch (decision.kind) {
    case Kind::restart:
      ++status_.restarts;
      schedule_start(decision.delay_ms);
      return;
    case Kind::halt:
      enter(State::down, RunState::halted);
      return;
    case Kind::stop:
      status_.want_by = "policy";
      enter(State::down, RunState::down);
      return;
    case Kind::give_up:
      status_.want_by = "policy";
      enter(State::down, RunState::failed);
      return;
  }
}

void Supervisor::leave_evidence(const std::string& slug, const std::string& reason) {
  EvidenceReport report{name_,
                        slug,
                        reason,
                        last_run_pid_,
                        started_ms_,
                        status_.last_exit ? status_.last_exit->at_ms : now_ms(),
                        status_.restarts,
                        status_.last_exit,
                        health_output_,
                        recent_output_.contents()};
  std::string error;
  auto path =
      write_evidence(log_dir_ + "/" + name_ + "/evidence", report, config_.evidence_keep, error);
  if (path.empty()) {
    report_error("cannot write evidence: " + error);
  } else {
    status_.evidence = path;
  }
}

void Supervisor::schedule_start(int64_t delay_ms) {
  if (delay_ms <= 0) {
    start_run();
    return;
  }
  status_.delay_ms = delay_ms;
  status_.next_start_ms = now_ms() + delay_ms;
  start_timer_.start(uint64_t(delay_ms));
  enter(State::waiting, RunState::backoff);
}

void Supervisor::start_run() {
  reload_config();
  output_log_->set_limits(config_.log_max_bytes, config_.log_keep);
  last_start_mono_ = monotonic_ms();
  started_ms_ = now_ms();
  status_.next_start_ms = 0;
  status_.reason.clear();

  SpawnRequest request{
      {"./run"},
      {"SVKIT_PLANNED_STOP_FILE=" + dir_ + "/supervise/planned-stop", "SVKIT_SERVICE=" + name_},
      dir_,
      {},
      true};
  request.fds.push_back({2, output_.write.get()});
  if (!config_.has_log_service) request.fds.push_back({1, output_.write.get()});
  Pipe ready;
  if (config_.notification_fd) {
    ready = make_pipe(true);
    request.fds.push_back({*config_.notification_fd, ready.write.get()});
  }
  auto result = spawn(request);
  if (result.pid < 0) {
    status_.reason = std::string("cannot start ./run: ") + std::strerror(result.error);
    report_error(status_.reason);
    status_.last_exit = ExitInfo{127, 0, now_ms()};
    // Never retry a start that cannot work faster than once a second.
    ++status_.restarts;
    schedule_start(std::max<int64_t>(int64_t(config_.restart_min_interval_ms), 1000));
    return;
  }
  run_pid_ = result.pid;
  status_.pid = run_pid_;
  status_.pid_start_time = process_start_time(run_pid_).value_or(0);
  if (ready.read) {
    ready_read_ = std::move(ready.read);
    ready_watch_ = uv::Readable(loop_, ready_read_.get(), [this] { on_ready_readable(); });
  }
  nlohmann::json pid_record = {{"pid", run_pid_}, {"start_time", status_.pid_start_time}};
  write_file_atomic(dir_ + "/supervise/pid", pid_record.dump() + "\n", false);
  health_failures_ = 0;
  status_.health = config_.health.enabled ? "unknown" : "";
  if (config_.health.enabled) health_timer_.start(config_.health.interval_ms);
  // Without a readiness protocol, up is ready.
  status_.ready_since_ms = config_.notification_fd ? 0 : now_ms();
  enter(State::up, RunState::up);
  record_started();
}

// The down-signal goes to run's whole process group (its own session): an
// operator stopping a service means its helpers too.
void Supervisor::stop_run() {
  if (run_pid_ <= 0) return;
  // Right after the fork the child may not have its own group yet.
  if (::kill(-run_pid_, config_.down_signal) != 0) ::kill(run_pid_, config_.down_signal);
  if (config_.down_signal != SIGKILL && ::kill(-run_pid_, SIGCONT) != 0) {
    ::kill(run_pid_, SIGCONT);
  }
  if (config_.timeout_kill_ms > 0 && !kill_timer_.active()) {
    kill_timer_.start(config_.timeout_kill_ms);
  }
}

void Supervisor::enter(State state, RunState shown) {
  state_ = state;
  status_.state = shown;
  status_.since_ms = now_ms();
  status_.pid = run_pid_;
  if (state != State::up) {
    status_.pid_start_time = 0;
    status_.ready_since_ms = 0;
  }
  if (state != State::waiting) status_.delay_ms = 0;
  publish();
}

void Supervisor::publish() {
  status_.errors = config_errors_;
  for (const auto& e : runtime_errors_) status_.errors.push_back(e);
  nlohmann::json j = status_;
  auto err = write_file_atomic(status_path(dir_), j.dump() + "\n", false);
  // A removed service directory is svscan's to act on, not an error.
  if (!err.empty() && is_directory(dir_)) spdlog::error("{}", err);
}

void Supervisor::report_error(const std::string& line) {
  spdlog::error("{}", line);
  constexpr size_t kKept = 8;
  if (runtime_errors_.size() == kKept) runtime_errors_.erase(runtime_errors_.begin());
  runtime_errors_.push_back(line);
}

// ---- health checks ---------------------------------------------------------------

void Supervisor::run_health_check() {
  if (health_pid_ > 0) return;  // the previous one is still running: its timeout handles it
  health_output_.clear();
  health_pipe_ = make_pipe(true);
  SpawnRequest request{{"./health"}, {"SVKIT_SERVICE=" + name_}, dir_, {}, true};
  request.fds = {{0, -1}, {1, health_pipe_.write.get()}, {2, health_pipe_.write.get()}};
  auto result = spawn(request);
  health_pipe_.write.reset();
  if (result.pid < 0) {
    report_error(std::string("cannot run health: ") + std::strerror(result.error));
    health_timer_.start(config_.health.interval_ms);
    return;
  }
  health_pid_ = result.pid;
  health_watch_ = uv::Readable(loop_, health_pipe_.read.get(), [this] { on_health_output(); });
  if (config_.health.timeout_ms > 0) health_timeout_timer_.start(config_.health.timeout_ms);
}

void Supervisor::health_timed_out() {
  if (health_pid_ <= 0) return;
  health_output_ +=
      "\n[svkit: health check killed after " + std::to_string(config_.health.timeout_ms) + " ms]\n";
  ::kill(-health_pid_, SIGKILL);
  ::kill(health_pid_, SIGKILL);
}

void Supervisor::health_finished() {
  health_timeout_timer_.stop();
  on_health_output();
  health_watch_.close();
  health_pipe_.read.reset();
  health_pid_ = 0;
  if (state_ != State::up) return;
  const int ws = health_wait_status_;
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
    health_failures_ = 0;
    status_.health = "healthy";
  } else if (++health_failures_ >= config_.health.retries && status_.health != "unhealthy") {
    status_.health = "unhealthy";
    spdlog::warn("unhealthy: {} health checks in a row failed", health_failures_);
    if (config_.health.restart) {
      leave_evidence("unhealthy", "unhealthy: " + std::to_string(health_failures_) +
                                      " health checks in a row failed");
      publish();
      restart_requested_ = true;
      stop_run();
      return;
    }
  }
  publish();
  health_timer_.start(config_.health.interval_ms);
}

void Supervisor::on_health_output() {
  constexpr size_t kKept = 4096;
  char buf[4096];
  ssize_t n;
  while (health_pipe_.read && (n = ::read(health_pipe_.read.get(), buf, sizeof buf)) > 0) {
    health_output_.append(buf, size_t(n));
    if (health_output_.size() > kKept) health_output_.erase(0, health_output_.size() - kKept);
  }
}

// ---- persisted profiles ----------------------------------------------------------

// Only an operator's marker for exactly this process instance turns its exit
// into want-down; anything else is signal-initiated and changes no intent.
void Supervisor::consume_planned_stop(pid_t pid, uint64_t start_time) {
  const std::string path = state::marker_path(dir_);
  const auto verdict = state::judge_marker(read_file(path), pid, start_time, now_ms());
  if (verdict == state::MarkerVerdict::absent) return;
  ::unlink(path.c_str());
  if (verdict != state::MarkerVerdict::operator_stop) {
    spdlog::info("planned-stop: {} ignored; the exit counts as signal-initiated",
                 state::to_string(verdict));
    return;
  }
  status_.want_up = false;
  status_.once = false;
  status_.want_by = "operator";
  // svctl down has persisted want=down already; a marker from another tool has not.
  if (!profile_dir_.empty() &&
      state::read_profile_state(state::state_file(state_dir_, name_)).state.want_up) {
    if (auto err = state::set_want(state_dir_, name_, false, "planned-stop"); !err.empty()) {
      report_error(err);
    }
  }
}

void Supervisor::record_started() {
  if (profile_dir_.empty()) return;
  auto err = state::write_pid_record(profile_dir_, {run_pid_, status_.pid_start_time, instance_});
  if (err.empty()) {
    err = state::record_observation(state_dir_, name_,
                                    {"started", now_ms(), run_pid_, -1, 0, instance_});
  }
  if (!err.empty()) report_error(err);
}

void Supervisor::record_exited(const ExitInfo& exit) {
  if (profile_dir_.empty()) return;
  ::unlink(state::pid_record_path(profile_dir_).c_str());
  auto err = state::record_observation(
      state_dir_, name_, {"exited", exit.at_ms, last_run_pid_, exit.code, exit.signal, instance_});
  if (!err.empty()) report_error(err);
}

// ---- event sources -------------------------------------------------------------

void Supervisor::on_sigchld() {
  int ws = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &ws, WNOHANG)) > 0) {
    last_wait_status_ = ws;
    if (pid == run_pid_) {
      dispatch(Event::run_died);
    } else if (pid == finish_pid_) {
      dispatch(Event::finish_died);
    } else if (pid == health_pid_) {
      health_wait_status_ = ws;
      dispatch(Event::health_done);
    }
  }
}

void Supervisor::deliver_signal(int sig) {
  if (run_pid_ > 0) ::kill(run_pid_, sig);
}

namespace {

// Control letters that change intent are events of the table; the others
// pass a signal to the service.
struct ControlLetter {
  char letter;
  std::optional<Supervisor::Event> event;
  int signal;
};

constexpr std::array<ControlLetter, 15> kControlLetters{{
    {control::kUp, Supervisor::Event::want_up, 0},
    {control::kDown, Supervisor::Event::want_down, 0},
    {control::kOnce, Supervisor::Event::want_once, 0},
    {control::kExit, Supervisor::Event::exit, 0},
    {control::kRestart, Supervisor::Event::restart, 0},
    {control::kTerm, std::nullopt, SIGTERM},
    {control::kKill, std::nullopt, SIGKILL},
    {control::kHup, std::nullopt, SIGHUP},
    {control::kInt, std::nullopt, SIGINT},
    {control::kQuit, std::nullopt, SIGQUIT},
    {control::kAlarm, std::nullopt, SIGALRM},
    {control::kUsr1, std::nullopt, SIGUSR1},
    {control::kUsr2, std::nullopt, SIGUSR2},
    {control::kStop, std::nullopt, SIGSTOP},
    {control::kCont, std::nullopt, SIGCONT},
}};

}  // namespace

void Supervisor::on_control_byte(char byte) {
  if (byte == '\n') return;
  for (const auto& c : kControlLetters) {
    if (c.letter != byte) continue;
    if (c.event) {
      dispatch(*c.event);
    } else {
      deliver_signal(c.signal);
    }
    return;
  }
  char line[64];
  std::snprintf(line, sizeof line, "control: unknown command byte 0x%02x ignored",
                static_cast<unsigned char>(byte));
  report_error(line);
  publish();
}

void Supervisor::on_control_readable() {
  char buf[256];
  ssize_t n;
  while ((n = ::read(control_read_.get(), buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) on_control_byte(buf[i]);
  }
}

void Supervisor::on_output_readable() {
  char buf[16384];
  ssize_t n;
  while ((n = ::read(output_.read.get(), buf, sizeof buf)) > 0) {
    recent_output_.append(std::string_view(buf, size_t(n)));
    if (auto e = output_log_->append(std::string_view(buf, size_t(n))); !e.empty()) {
      report_error(e);
    }
  }
}

void Supervisor::on_ready_readable() {
  char buf[64];
  ssize_t n = ::read(ready_read_.get(), buf, sizeof buf);
  if (n < 0 && errno == EAGAIN) return;
  if (n > 0 && std::memchr(buf, '\n', size_t(n)) == nullptr) return;
  if (n > 0 && state_ == State::up) {
    status_.ready_since_ms = now_ms();
    publish();
  }
  ready_watch_.close();
  ready_read_.reset();
}

}  // namespace svkit::supervise
