// One service's supervisor: a state machine driven by libuv events.
//
//   states: down, waiting (a start is scheduled), up (run is alive),
//           finishing (finish is running)
//   events: the control letters that change intent (up, down, once, exit,
//           restart), the death of run, finish or the health check, and the
//           timers (start, kill, finish, health interval and timeout).
//
// The whole behaviour is kTransitions in supervisor.cpp: one row per state,
// one cell per event, each cell a small named member function.
#pragma once

#include <sys/types.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../lib/fd.hpp"
#include "../lib/paths.hpp"
#include "../lib/status.hpp"
#include "../lib/uv.hpp"
#include "config.hpp"
#include "evidence.hpp"
#include "output_log.hpp"
#include "restart_policy.hpp"

namespace svkit::supervise {

class Supervisor {
 public:
  enum class State { down, waiting, up, finishing, count };
  enum class Event {
    want_up,
    want_down,
    want_once,
    exit,
    restart,
    run_died,
    finish_died,
    start_timer,
    kill_timer,
    finish_timer,
    health_due,
    health_done,
    health_timeout,
    count
  };

  // `dir` is the service directory; `name` its name in status and logs.
  Supervisor(uv_loop_t* loop, std::string dir, std::string name, const Paths& paths);
  ~Supervisor();

  // Takes the lock and opens the control FIFO. Returns an error line, or
  // empty when ready to run().
  std::string open();
  // Starts the service unless `down` exists; the loop does the rest.
  void begin();
  bool finished() const { return finished_; }

 private:
  using Action = void (Supervisor::*)();

  void dispatch(Event event);
  static const std::array<std::array<Action, size_t(Event::count)>, size_t(State::count)>
      kTransitions;

  // Cells of the table.
  void ignore() {}
  void up_from_down();
  void once_from_down();
  void down_while_down();
  void exit_now();
  void start_now();
  void once_now();
  void down_while_waiting();
  void exit_while_waiting();
  void up_while_running();
  void once_while_running();
  void down_while_up();
  void restart_while_up();
  void exit_while_up();
  void down_while_finishing();
  void exit_while_finishing();
  void run_died();
  void kill_timer_fired();
  void finish_died();
  void finish_timer_fired();
  void run_health_check();
  void health_finished();
  void health_timed_out();

  // Steps the cells share.
  void reload_config();
  void start_run();
  void stop_run();
  void after_run();
  void leave_evidence(const std::string& slug, const std::string& reason);
  void apply_restart_policy();
  void schedule_start(int64_t delay_ms);
  void enter(State state, RunState shown);
  void publish();
  void report_error(const std::string& line);
  // Persisted-profile hooks (DESIGN.md "Planned-stop markers", "Persisted profile state").
  void consume_planned_stop(pid_t pid, uint64_t start_time);
  void record_started();
  void record_exited(const ExitInfo& exit);

  // Event sources.
  void on_sigchld();
  void on_control_readable();
  void on_control_byte(char byte);
  void on_output_readable();
  void on_ready_readable();
  void on_health_output();
  void deliver_signal(int sig);

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
  bool exiting_ = false;
  bool finished_ = false;
  pid_t run_pid_ = 0;
  pid_t last_run_pid_ = 0;
  pid_t finish_pid_ = 0;
  int last_wait_status_ = 0;
  int64_t last_start_mono_ = 0;
  bool permanent_failure_ = false;
  bool restart_requested_ = false;  // an operator's restart, or health-action restart
  int64_t started_ms_ = 0;
  RestartHistory history_;
  OutputRing recent_output_{64 * 1024};
  pid_t health_pid_ = 0;
  int health_wait_status_ = 0;
  uint64_t health_failures_ = 0;
  std::string health_output_;
  Pipe health_pipe_;

  UniqueFd lock_fd_;
  UniqueFd control_read_;
  UniqueFd control_keepalive_;
  Pipe output_;
  UniqueFd ready_read_;
  std::unique_ptr<OutputLog> output_log_;

  uv::Signal sigchld_, sigterm_, sigint_;
  uv::Readable control_watch_, output_watch_, ready_watch_, health_watch_;
  uv::Timer start_timer_, kill_timer_, finish_timer_, health_timer_, health_timeout_timer_;
};

}  // namespace svkit::supervise
