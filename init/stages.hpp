// svinit's file-system work (stage 1), its settings, and the process-table
// helpers the other stages use.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../lib/paths.hpp"
#include "../lib/spawn.hpp"

namespace svkit::init {

struct Settings {
  int stage2_behaviour = 2;           // SVKIT_BEHAVIOUR_IF_STAGE2_FAILS: 0 silent, 1 warn, 2 stop
  uint64_t services_grace_ms = 5000;  // SVKIT_SERVICES_GRACETIME
  uint64_t kill_grace_ms = 3000;      // SVKIT_KILL_GRACETIME
  uint64_t cmd_wait_ms = 0;           // SVKIT_CMD_WAIT_FOR_SERVICES_MAXTIME: 0 waits forever
  std::string http_listen;            // SVKIT_HTTP_LISTEN: ADDR:PORT, empty for none
  // SVKIT_TERMINATION_LOG, created when set; else /dev/termination-log when it exists.
  std::string termination_log = "/dev/termination-log";
  bool termination_log_create = false;

  // A bad value is one warning line; its default stays.
  static Settings from_environment();
};

// Puts the resolved paths into the environment, so that hooks, svscan and CMD
// all see the same ones, defaults included.
void export_paths(const Paths& paths);

// Stage 1: a fresh instance id in the run dir, a clean scandir (a tmpfs when
// svinit may mount one), the static services copied in. A log dir (or a state
// dir that does not exist) that cannot be written is said once, with the
// reason, and replaced by a folder in the run dir (non-root, read-only root):
// `paths` then holds what is used, exported and in RUNDIR/paths.json.
// Returns an error line, or empty.
std::string run_stage1(Paths& paths);

// Stage 2: the hooks of `dir` (every entry but dot files and folders), in name order.
std::vector<std::string> list_hooks(const std::string& dir);

// Every descendant of `root`, from /proc, parents before their children.
std::vector<pid_t> descendants_of(pid_t root);

// Exit code as a shell reports it: the code, or 128+signal.
int exit_code_of(int wait_status);
// "exited 3" or "was killed by SIGKILL".
std::string describe_exit(int wait_status);

}  // namespace svkit::init
