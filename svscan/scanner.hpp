// svscan's whole job: one supervise per service directory of the scandir (two
// when it has a log/), the pipe between a service and its logger held here so
// that neither side's restart loses a line, every zombie reaped, and on
// SIGTERM every service down before svscan exits. No service logic lives here.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <unordered_map>

#include "../lib/fd.hpp"
#include "../lib/uv.hpp"

namespace svkit::svscan {

class Scanner {
 public:
  Scanner(uv_loop_t* loop, std::string scandir, std::string rundir, uint64_t rescan_ms);

  // Creates the control FIFO and starts watching. Returns an error line or empty.
  std::string open();
  void scan();
  bool finished() const { return finished_; }

 private:
  struct Slot {
    pid_t main = 0;
    pid_t logger = 0;
    Pipe log_pipe;
    bool present = false;
  };

  void request_scan();
  void start_main(const std::string& name, Slot& slot);
  void start_logger(const std::string& name, Slot& slot);
  pid_t start_supervise(const std::string& dir, int stdin_fd, int stdout_fd);
  void on_sigchld();
  void child_exited(pid_t pid);
  void on_control_readable();
  void shut_down();
  void stop_slot(Slot& slot);
  void finish_if_idle();

  uv_loop_t* loop_;
  std::string scandir_;
  std::string rundir_;
  std::string supervise_path_;
  uint64_t rescan_ms_;
  std::map<std::string, Slot> slots_;
  std::unordered_map<pid_t, std::string> owners_;
  bool shutting_down_ = false;
  bool finished_ = false;

  UniqueFd lock_fd_;
  UniqueFd control_read_;
  UniqueFd control_keepalive_;
  uv::Signal sigchld_, sigterm_, sigint_, sighup_;
  uv::Readable control_watch_;
  uv::DirWatch dir_watch_;
  uv::Timer scan_timer_;    // coalesces a burst of triggers into one scan
  uv::Timer rescan_timer_;  // --rescan-ms, and retrying supervisors that died
};

}  // namespace svkit::svscan
