// A run left behind by a supervise that died: found through supervise/pid,
// checked against /proc (a session leader working in this service folder, so
// a reused pid is never taken), and watched through a pidfd — it is not this
// supervise's child. svscan, the subreaper it was re-parented to, reaps it and
// leaves its wait status in supervise/reaped (then says so with control::kReaped);
// without that within a second the exit status is "unknown".
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "../lib/fd.hpp"
#include "../lib/status.hpp"
#include "../lib/uv.hpp"

namespace svkit::supervise {

// The pid of a run of `dir` that still lives, from the last supervise's records.
std::optional<pid_t> find_orphaned_run(const std::string& dir);

class AdoptedRun {
 public:
  using OnExit = std::function<void(const ExitInfo& exit)>;

  // Watches `pid` through `pidfd` (open_pidfd in lib/proc.hpp).
  AdoptedRun(uv_loop_t* loop, std::string dir, pid_t pid, UniqueFd pidfd, OnExit on_exit);
  // svscan wrote supervise/reaped.
  void reaped();

 private:
  void gone();
  bool deliver_reaped();
  void deliver(const ExitInfo& exit);

  std::string dir_;
  pid_t pid_;
  UniqueFd pidfd_;
  OnExit on_exit_;
  bool gone_ = false;
  bool delivered_ = false;
  uv::Readable watch_;
  uv::Timer status_deadline_;
};

}  // namespace svkit::supervise
