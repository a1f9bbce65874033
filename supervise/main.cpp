// supervise DIR: keeps one service alive. See supervisor.hpp for its life cycle.
// Exit: 0 after an exit command or SIGTERM, 1 when another supervise holds the
// service, 2 on a usage error, 111 when the service folder cannot be used.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "../svkit/programs.hpp"
#include "supervisor.hpp"

namespace {

// "NAME" for SCANDIR/NAME, "NAME/log" for its logger SCANDIR/NAME/log.
std::string service_name(const std::string& dir) {
  const std::filesystem::path path = std::filesystem::path(dir).lexically_normal();
  const std::filesystem::path folder = path.has_filename() ? path : path.parent_path();
  const std::string base = folder.filename().string();
  if (base == "log" && svkit::path_exists((folder.parent_path() / "run").string())) {
    return folder.parent_path().filename().string() + "/log";
  }
  return base;
}

// Everything that must outlive supervise is written when it finishes (status,
// logs, evidence), so a container's shutdown need not also pay, a thousand
// times over, for closing every handle and running every destructor. The
// sanitizer builds take the long way, which their leak check needs.
void leave_now(int code) {
#if !defined(__SANITIZE_ADDRESS__)
  std::fflush(nullptr);
  ::_exit(code);
#else
  (void)code;
#endif
}

}  // namespace

int svkit::programs::supervise_main(int argc, char** argv) {
  // svscan passes --pipes: the output pipes it holds are on fds 3 to 6.
  const bool held_pipes = argc == 3 && std::string(argv[1]) == svkit::held_pipes::kOption;
  if ((argc != 2 && !held_pipes) || argv[argc - 1][0] == '\0' || argv[argc - 1][0] == '-') {
    std::fprintf(stderr, "supervise: usage: supervise [--pipes] SERVICE_DIR\n");
    return 2;
  }
  const std::string dir = argv[argc - 1];
  const std::string name = service_name(dir);
  svkit::init_logging("supervise[" + name + "]");
  ::signal(SIGPIPE, SIG_IGN);

  uv_loop_t* loop = uv_default_loop();
  int code = 0;
  {
    svkit::supervise::Supervisor supervisor(loop, dir, name, svkit::Paths::from_environment(),
                                            held_pipes);
    if (auto failure = supervisor.open()) {
      spdlog::error("{}", failure->line);
      code = failure->kind == svkit::supervise::Supervisor::OpenError::already_supervised ? 1 : 111;
    } else {
      supervisor.begin();
      // Starting up (the config, the first status, the first spawn) leaves
      // freed heap behind; one supervise per service makes every page count.
      ::malloc_trim(0);
      while (!supervisor.finished()) uv_run(loop, UV_RUN_DEFAULT);
      leave_now(code);
    }
  }
  svkit::uv::drain_and_close(loop);
  return code;
}
