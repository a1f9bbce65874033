// One service's supervisor: a state machine driven by libuv events. The whole
// life cycle is the table kTransitions in supervisor.cpp — one row per state,
// one cell per event, each cell a small named member function — and nothing
// else picks a next state.
//
//   down       no process, nothing scheduled (shown down, halted or failed)
//   waiting    no process, a start waits for dependencies.d (shown down)
//   backoff    no process, a start is scheduled
//   up         run is alive (a oneshot: its `up` runs)
//   done       a oneshot's `up` succeeded: up, with no process
//   stopping   run is alive and its death was asked for (down, restart,
//              term, kill, an unhealthy restart)
//   finishing  finish runs after run's death
//   judging    a death is complete; its verdict (verdict.hpp) comes next
//   exiting    supervise exits once run and finish are gone
//
// A death goes run_died → (finishing → finish_died) → judging → one verdict
// event → down, backoff or up again.
#pragma once

#include <sys/types.h>

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../lib/fd.hpp"
#include "../lib/paths.hpp"
#include "../lib/spawn.hpp"
#include "../lib/status.hpp"
#include "../lib/uv.hpp"
#include "adoption.hpp"
#include "config.hpp"
#include "dependency_wait.hpp"
#include "evidence.hpp"
#include "health.hpp"
#include "output.hpp"
#include "verdict.hpp"

namespace svkit::supervise {

// What an event of the table carries: each event uses the fields named for it.
struct EventData {
  ExitInfo exit{};      // run_died
  int wait_status = 0;  // finish_died
  std::string error{};  // start_failed
  Verdict verdict{};    // the verdict events
};

class Supervisor {
 public:
  enum class State {
    down,
    waiting,
    backoff,
    up,
    done,
    stopping,
    finishing,
    judging,
    exiting,
    count
  };
  enum class Event {
    // An operator's control letters (and SIGTERM to supervise: exit).
    up,
    down,
    once,
    exit,
    restart,
    term,
    kill,
    // Processes.
    run_died,
    start_failed,
    finish_died,
    // Timers.
    start_due,
    kill_due,
    finish_due,
    // The service.
    ready,
    unhealthy,
    ready_timeout,  // ready-check did not pass in time
    // A dependency's status changed.
    dependencies_changed,
    // Verdicts on a death, posted while judging.
    restart_now,
    restart_later,
    halt,
    policy_stop,
    give_up,
    fail,
    rest,
    done,
    count
  };

  // `dir` is the service directory; `name` its name in status and logs. With
  // `held_pipes`, run's output pipes are the ones svscan holds (lib/status.hpp).
  Supervisor(uv_loop_t* loop, std::string dir, std::string name, const Paths& paths,
             bool held_pipes);
  ~Supervisor();

  enum class OpenError { already_supervised, other };
  struct OpenFailure {
    OpenError kind;
    std::string line;
  };
  // Takes the lock and opens the control FIFO.
  std::optional<OpenFailure> open();
  // Adopts the run a dead supervise left, or starts the service unless
  // `down` exists; the loop does the rest.
  void begin();
  bool finished() const { return finished_; }

 private:
  using Action = void (Supervisor::*)(const EventData&);
  static const std::array<std::array<Action, size_t(Event::count)>, size_t(State::count)>
      kTransitions;  // defined constexpr in supervisor.cpp: read-only, shared by every supervise

  // Events found while handling one are queued and handled right after it;
  // the status is written once, when the queue is empty.
  void post(Event event, EventData data = {});
  void handle(Event event, EventData data = {});
  void run_queue();

  // Cells of the table.
  void ignore(const EventData&) {}
  void start_wanted(const EventData&);
  void start_once(const EventData&);
  void start_scheduled(const EventData&);
  void cancel_start(const EventData&);
  void note_want_up(const EventData&);
  void note_want_down(const EventData&);
  void note_once(const EventData&);
  void stop_wanted_down(const EventData&);
  void stop_for_restart(const EventData&);
  void term_expecting_death(const EventData&);
  void kill_expecting_death(const EventData&);
  void stop_for_exit(const EventData&);
  void exit_after_finish(const EventData&);
  void exit_now(const EventData&);
  void run_died(const EventData&);
  void expected_run_died(const EventData&);
  void run_died_while_exiting(const EventData&);
  void start_failed(const EventData&);
  void finish_died(const EventData&);
  void kill_group(const EventData&);
  void kill_finish(const EventData&);
  void mark_ready(const EventData&);
  void restart_unhealthy(const EventData&);
  void restart_at_once(const EventData&);
  void restart_after_backoff(const EventData&);
  void halt(const EventData&);
  void stop_by_policy(const EventData&);
  void give_up(const EventData&);
  void fail(const EventData&);
  void rest(const EventData&);
  void start_if_dependencies_ready(const EventData&);
  void oneshot_done(const EventData&);
  void oneshot_down(const EventData&);
  void oneshot_exit(const EventData&);
  void stop_not_ready(const EventData&);

  // Steps the cells share.
  void reload_config();
  bool adopt_orphaned_run();
  void start();
  void start_as_configured();
  SpawnRequest script_request(std::vector<std::string> argv);
  bool run_oneshot_down();
  void yield_to_stopping_service();
  void stop_checks();
  void send_down_signal();
  std::vector<std::string> service_env() const;
  void set_want(Want want, WantBy by);
  Death record_death(const ExitInfo& exit, bool expected);
  bool start_finish(const Death& death);
  void conclude(const Death& death);
  void leave_evidence(const std::string& slug, const std::string& reason, const std::string& next,
                      pid_t pid, const std::optional<ExitInfo>& exit);
  void enter(State state, RunState shown);
  void publish() { dirty_ = true; }
  void write_status();
  void write_status_in_place(const std::string& text);
  void report_error(const std::string& line);
  void on_health_result(bool passed, uint64_t failures_in_a_row);
  bool wait_for_dependencies();
  void start_ready_check();
  void read_halt_intent();
  std::string halt_intent_path() const;
  // Persisted-profile hooks (DESIGN.md "Planned-stop markers", "Persisted profile state").
  bool consume_planned_stop(pid_t pid, uint64_t start_time);
  void record_started();
  void record_exited(const ExitInfo& exit);

  // Event sources.
  void on_sigchld();
  void on_control_readable();
  void on_output_readable(Stream stream);
  void read_output();
  void watch_console();
  UniqueFd open_console();
  void write_evidence_snapshot();
  void sync_evidence();
  void on_ready_readable();
  void report_unknown_control_bytes();

  uv_loop_t* loop_;
  std::string dir_;
  std::string name_;
  std::string log_dir_;
  std::string state_dir_;
  std::string profile_dir_;  // empty unless the service is a persisted profile
  std::string instance_;
  ServiceConfig config_;
  std::vector<std::string> config_errors_;
  std::vector<std::string> runtime_errors_;

  State state_ = State::down;
  Status status_;
  std::deque<std::pair<Event, EventData>> queue_;
  bool handling_ = false;
  bool dirty_ = false;
  bool finished_ = false;
  pid_t run_pid_ = 0;
  pid_t finish_pid_ = 0;
  int64_t started_mono_ms_ = 0;
  int64_t started_wall_ms_ = 0;
  std::optional<Death> finishing_death_;  // the death whose finish is running
  RestartHistory history_;
  OutputRing recent_output_{64 * 1024};
  uint64_t unknown_control_bytes_ = 0;  // not yet reported
  int first_unknown_control_byte_ = -1;

  bool held_pipes_;
  bool status_write_failing_ = false;
  UniqueFd lock_fd_;
  UniqueFd control_read_;
  UniqueFd control_keepalive_;
  Pipe stdout_, stderr_;
  UniqueFd ready_read_;
  UniqueFd console_fd_;
  std::string written_status_;                       // the text last written to status.json
  std::optional<EvidenceReport> evidence_snapshot_;  // taken before a restart, written after
  UniqueFd unsynced_evidence_;                       // written, not yet on disk
  std::unique_ptr<EvidenceFolder> evidence_folder_;  // made at the first evidence
  bool console_reopened_ = false;                    // our own open file description: pollable
  std::unique_ptr<ServiceOutput> output_;
  std::unique_ptr<HealthMonitor> health_;
  std::unique_ptr<AdoptedRun> adopted_;
  // Made when the service has them (most have neither).
  std::unique_ptr<HealthMonitor> ready_check_;
  uv::Timer ready_timeout_timer_;
  bool not_ready_in_time_ = false;
  std::string
      dependency_problem_;  // said once  // the run is stopped because ready-check timed out

  uv::Signal sigchld_, sigterm_, sigint_;
  uv::Readable control_watch_, stdout_watch_, stderr_watch_, ready_watch_;
  uv::Writable console_watch_;
  uv::Timer start_timer_, kill_timer_, finish_timer_, control_error_timer_, status_retry_timer_;
};

}  // namespace svkit::supervise
