// svinit [--] [CMD ARGS...]: the container's PID 1 (DESIGN.md "svinit").
// Also works as a plain process: it makes itself a child subreaper, so the
// orphans of its tree still come to it to be reaped.
//
// Exit code — whatever starts stage 3 first decides it; later events change nothing:
//   CMD exited on its own            CMD's exit code, or 128+signal when it was killed
//   CMD cannot run                   127 when not found, 126 otherwise
//   an essential service died        its exit code, or 128+signal when it was killed
//   a cont-init hook failed (SVKIT_BEHAVIOUR_IF_STAGE2_FAILS=2, the default)
//                                    the hook's exit code (or 128+signal); 126 when it
//                                    is not executable or cannot run, 127 when exec
//                                    finds no such file (a missing #! interpreter)
//   services not ready within SVKIT_CMD_WAIT_FOR_SERVICES_MAXTIME   124
//   a oneshot failed (SVKIT_BEHAVIOUR_IF_STAGE2_FAILS=2)   its exit code
//   SIGTERM or SIGINT                0: a stop asked for from outside is a clean stop,
//                                    whatever CMD does with the forwarded signal (a CMD
//                                    killed by it would otherwise read as a crash, 143)
//   stage 1 failed (run dir or scandir cannot be made or written), or svscan cannot
//   run at all (a svscan that dies is started again)   111
//   usage error                      2
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../lib/console.hpp"
#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "../svkit/programs.hpp"
#include "init.hpp"
#include "stages.hpp"

namespace {

constexpr const char* kUsage =
    "usage: svinit [--] [CMD ARGS...]\n"
    "Boots the services of $SVKIT_SERVICES_DIR and $SVKIT_CONT_INIT_DIR's hooks, runs CMD in\n"
    "the foreground and exits with its exit code (see DESIGN.md, \"svinit\").\n";

}  // namespace

int svkit::programs::svinit_main(int argc, char** argv) {
  std::vector<std::string> cmd(argv + 1, argv + argc);
  if (!cmd.empty() && cmd.front() == "--") {
    cmd.erase(cmd.begin());
  } else if (!cmd.empty() && cmd.front().starts_with('-')) {
    const bool help = cmd.front() == "-h" || cmd.front() == "--help";
    std::fputs(kUsage, help ? stdout : stderr);
    return help ? 0 : 2;
  }
  svkit::init_logging("svinit");
  ::signal(SIGPIPE, SIG_IGN);
  // CMD may own the terminal: svinit must not be stopped for using it.
  ::signal(SIGTTOU, SIG_IGN);
  ::signal(SIGTTIN, SIG_IGN);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  // What an earlier boot chose is chosen again, from the environment.
  ::unlink(svkit::effective_paths_file(svkit::env_or("SVKIT_RUNDIR", "/run/svkit")).c_str());
  auto paths = svkit::Paths::from_environment();
  svkit::init::export_paths(paths);
  // Service output on the container's console unless told otherwise, checked once here.
  ::setenv("SVKIT_CONSOLE", svkit::env_or("SVKIT_CONSOLE", "on").c_str(), 1);
  svkit::export_console(svkit::console_from_environment(true));
  const auto settings = svkit::init::Settings::from_environment();
  uv_loop_t* loop = uv_default_loop();
  int code = 0;
  {
    svkit::init::Init init(loop, paths, settings, std::move(cmd));
    if (auto error = svkit::init::run_stage1(paths); !error.empty()) {
      spdlog::error("{}", error);
      code = 111;
    } else {
      code = init.run();
    }
  }
  svkit::uv::drain_and_close(loop);
  return code;
}
