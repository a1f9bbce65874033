// Where things live (DESIGN.md "Paths"): each from its environment variable,
// else the container default; and how one program finds another.
#pragma once

#include <string>

namespace svkit {

struct Paths {
  std::string scandir;
  std::string rundir;
  std::string state_dir;
  std::string services_dir;
  std::string cont_init_dir;
  std::string log_dir;

  // From the environment; then, where svinit had to choose other folders
  // (RUNDIR/paths.json, see effective_paths_file), those: a `docker exec
  // svctl` does not see svinit's environment.
  static Paths from_environment();
};

// RUNDIR/paths.json: the log and state dirs svinit really uses.
std::string effective_paths_file(const std::string& rundir);

std::string env_or(const char* name, const std::string& fallback);

// The path of a helper program (supervise, svscan, reconcile): $SVKIT_LIBEXEC,
// else the folder of the running executable when the helper is there, else
// the libexec folder compiled in. Never PATH.
std::string libexec_program(const std::string& program);

// The svscan control FIFO for a run dir.
std::string svscan_control_path(const std::string& rundir);

}  // namespace svkit
