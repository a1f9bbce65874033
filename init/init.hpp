// svinit's stages 2 and 3 as one libuv loop: cont-init hooks one after the
// other, then svscan and CMD; every zombie reaped; signals forwarded; and the
// shutdown, which ends as soon as every process is gone (the grace times are
// limits, not sleeps).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "../lib/paths.hpp"
#include "../lib/uv.hpp"
#include "essential.hpp"
#include "http.hpp"
#include "probes.hpp"
#include "readiness_wait.hpp"
#include "stages.hpp"

namespace svkit::init {

class Init {
 public:
  // Installs the signal handlers at once: a SIGTERM that comes during stage 1
  // is kept for the loop, not lost.
  Init(uv_loop_t* loop, Paths paths, Settings settings, std::vector<std::string> cmd);
  Init(const Init&) = delete;
  Init& operator=(const Init&) = delete;

  // Stages 2 and 3; returns svinit's exit code once every child is gone.
  int run();

 private:
  enum class Stage { hooks, running, stopping_services, stopping_rest, done };

  void next_hook();
  void hook_exited(int wait_status);
  bool survive_hook_failure(int exit_code, const std::string& what, bool bad_input);
  void start_services();
  bool start_svscan();
  void svscan_died(int wait_status);
  void wait_then_start_cmd();
  void start_cmd();
  void watch_essential_services();

  void reap();
  void child_exited(pid_t pid, int wait_status);
  void orphan_exited(pid_t pid, int wait_status);
  std::vector<std::string> supervised_folders() const;
  void on_stop_signal(int sig);
  void forward(int sig);

  void start_http();
  InitView view() const;

  // `service_dir`: the service that ends the container, for the termination message.
  void begin_stage3(int exit_code, const std::string& why, bool term_cmd = true,
                    const std::string& service_dir = {});
  void grace_expired();
  void stop_rest();
  void signal_rest(int sig);
  void finish();

  uv_loop_t* loop_;
  Paths paths_;
  Settings settings_;
  std::vector<std::string> cmd_;
  Stage stage_ = Stage::hooks;
  int exit_code_ = 0;
  std::string termination_message_;  // what started stage 3, written as svinit exits

  std::vector<std::string> hooks_;
  size_t next_hook_ = 0;
  std::string current_hook_;
  pid_t hook_pid_ = 0;
  pid_t svscan_pid_ = 0;
  int64_t svscan_started_mono_ms_ = 0;
  uint64_t svscan_restart_delay_ms_ = 0;
  pid_t cmd_pid_ = 0;
  std::vector<pid_t> stopping_supervisors_;  // told directly at stage 3 while svscan was down

  std::vector<std::unique_ptr<EssentialWatch>> essentials_;
  uv::Signal sigchld_;
  std::vector<uv::Signal> signals_;
  uv::Timer grace_timer_;                    // services' grace, then the rest's
  uv::Timer svscan_restart_timer_;           // a dead svscan is started again after a short backoff
  std::unique_ptr<ReadinessWait> cmd_wait_;  // CMD waits for the services
  uv::Timer cmd_wait_timer_;
  int64_t cmd_wait_began_ms_ = 0;
  std::unique_ptr<Probes> probes_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace svkit::init
