// Test plumbing: a fresh sandbox per test (scandir, run dir, log dir, state
// dir under one temp folder), real svkit programs started in it, and waiting
// on events with a deadline and a message that says what never happened.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../lib/proc.hpp"
#include "../lib/status.hpp"

namespace svkit::test {

struct CommandResult {
  int exit_code = -1;  // 128+signal when killed
  std::string out;
  std::string err;
};

// Deadlines are generous: they only bound a failing test, they do not time
// anything (benchmarks live in bench/).
constexpr std::chrono::milliseconds kDeadline{20000};
constexpr std::chrono::milliseconds kCommandDeadline{90000};

// Polls `condition` until it holds or the deadline passes; then fails the
// test with `what_never_happened` and `context()` (last status, logs).
bool eventually(const std::function<bool()>& condition, const std::string& what_never_happened,
                const std::function<std::string()>& context = {},
                std::chrono::milliseconds deadline = kDeadline);

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& root() const { return root_; }
  std::string scandir() const { return root_ + "/service"; }
  std::string rundir() const { return root_ + "/run"; }
  std::string log_dir() const { return root_ + "/log"; }
  std::string state_dir() const { return root_ + "/state"; }
  std::string service_dir(const std::string& name) const { return scandir() + "/" + name; }
  std::vector<std::string> env() const;

  // Writes SCANDIR/NAME/run (a /bin/sh script body) and the given small files.
  void add_service(const std::string& name, const std::string& run_body,
                   const std::map<std::string, std::string>& files = {});
  // Writes `path` (relative to the root when not absolute); executable when asked.
  void write(const std::string& path, const std::string& content, bool executable = false);
  std::string path(const std::string& relative) const { return root_ + "/" + relative; }

  // svscan on the scandir; `launcher` (a command and its arguments) runs it.
  pid_t start_svscan(const std::vector<std::string>& extra_args = {},
                     const std::vector<std::string>& launcher = {});
  // SIGTERM to svscan and wait for it; its exit code (or 128+signal).
  int stop_svscan();
  pid_t svscan_pid() const { return svscan_pid_; }

  CommandResult svctl(const std::vector<std::string>& args) const;
  CommandResult run(const std::vector<std::string>& argv) const;

  std::optional<Status> status(const std::string& name) const;
  // Waits for `svctl wait CONDITION NAME`; fails with the status on timeout.
  void wait(const std::string& condition, const std::string& name) const;
  // Waits until NAME is up with a pid other than `old_pid`; returns it.
  pid_t wait_new_pid(const std::string& name, pid_t old_pid) const;
  std::string describe(const std::string& name) const;  // status line + service log tail

 private:
  std::string root_;
  std::string libexec_;
  pid_t svscan_pid_ = 0;
};

// Waits until `read_status` shows `name` up with a pid other than `old_pid`.
pid_t wait_for_new_pid(const std::function<std::optional<Status>()>& read_status,
                       const std::string& name, pid_t old_pid,
                       const std::function<std::string()>& context);

// A FIFO a service reads (`read x < FIFO`), so that the test decides when it
// goes on: release() writes one line once a reader waits on it.
class Gate {
 public:
  Gate(const Sandbox& sb, const std::string& name);
  const std::string& path() const { return path_; }
  void release();

 private:
  std::string path_;
};

std::string program_path(const std::string& program);
// The status of the service in `service_dir`, when it can be read.
std::optional<Status> status_at(const std::string& service_dir);
bool process_alive(pid_t pid);                   // exists and is not a zombie
std::string read_text(const std::string& path);  // empty when missing
// Waits for `pid` (a child of the test) with a deadline; exit code or 128+signal, -1 on timeout.
int wait_child(pid_t pid, std::chrono::milliseconds deadline = kDeadline);

}  // namespace svkit::test
