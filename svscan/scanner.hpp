// svscan's whole job: one supervise per service directory of the scandir (two
// when it has a log/), and no service logic. It holds every pipe a service
// writes into (its stdout and stderr, and the pipe to its logger), so that no
// supervise's death costs the service a line or a SIGPIPE; it is the subreaper
// of the services, so it reaps a run whose supervise died and leaves its wait
// status for the supervise that adopts it; a supervise it finds running (after
// its own restart) is taken back, not started twice; on SIGTERM every service
// is down before svscan exits.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "../lib/fd.hpp"
#include "../lib/uv.hpp"
#include "notifier.hpp"

namespace svkit::svscan {

class Scanner {
 public:
  Scanner(uv_loop_t* loop, std::string scandir, std::string rundir, uint64_t rescan_ms);

  // Creates the control FIFO and starts watching. Returns an error line or empty.
  std::string open();
  void scan();
  bool finished() const { return finished_; }

 private:
  // One supervised folder: a service, or its logger.
  struct Unit {
    std::string dir;
    pid_t supervise = 0;
    bool adopted = false;  // found running: not a child, watched through a pidfd
    UniqueFd pidfd;
    uv::Readable pidfd_watch;
    Pipe out, err;  // run's stdout and stderr, held here
    int64_t started_mono_ms = 0;
    int64_t respawn_at_ms = 0;  // monotonic; 0: whenever a scan finds it missing
  };
  struct Slot {
    Unit main, logger;
    Pipe log_pipe;  // main's stdout to the logger's stdin
    bool has_logger = false;
    bool present = false;
    bool stop_sent = false;  // at shutdown
  };

  void request_scan();
  void ensure_running(const std::string& name, Slot& slot, Unit& unit, bool logger);
  bool adopt_supervise(Slot& slot, Unit& unit, bool logger);
  void start_supervise(const std::string& name, Slot& slot, Unit& unit, bool logger);
  void ensure_log_pipe(const std::string& name, Slot& slot, bool logger);
  void watch_adopted(const std::string& name, Unit& unit);
  void on_sigchld();
  void supervise_ended(const std::string& name, Unit& unit);
  void orphan_reaped(pid_t pid, int wait_status);
  void on_control_readable();
  void shut_down();
  void stop_slot(Slot& slot);
  void stop_unblocked_slots();
  void finish_if_idle();
  void schedule_respawn(int64_t delay_ms);
  Slot* slot_of(const std::string& name);

  uv_loop_t* loop_;
  std::string scandir_;
  std::string rundir_;
  std::string supervise_path_;
  uint64_t rescan_ms_;
  std::map<std::string, Slot> slots_;
  // Every running supervise: its slot, and whether it is the logger.
  std::unordered_map<pid_t, std::pair<std::string, bool>> owners_;
  // Runs whose supervise died, until reaped: the service folder to tell.
  std::unordered_map<pid_t, std::string> orphaned_runs_;
  // Who depends on whom (dependencies.d): wake-ups for waiting services, and
  // the shutdown order (unless a second stop request ends it).
  DependencyNotifier notifier_;
  bool in_order_ = true;
  bool shutting_down_ = false;
  bool every_stop_sent_ = false;  // at shutdown: no slot waits for its dependents
  bool finished_ = false;
  bool pipes_warned_ = false;
  int console_fd_ = -1;

  UniqueFd lock_fd_;
  UniqueFd control_read_;
  UniqueFd control_keepalive_;
  uv::Signal sigchld_, sigterm_, sigint_, sighup_;
  uv::Readable control_watch_;
  uv::DirWatch dir_watch_;
  uv::Timer scan_timer_;     // coalesces a burst of triggers into one scan
  uv::Timer rescan_timer_;   // --rescan-ms
  uv::Timer respawn_timer_;  // a supervise that died young is started again after a pause
};

}  // namespace svkit::svscan
