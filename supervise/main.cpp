// supervise DIR: keeps one service alive. See supervisor.hpp for its life cycle.
#include <signal.h>

#include <cstdio>
#include <string>

#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "supervisor.hpp"

namespace {

// "NAME" for SCANDIR/NAME, "NAME/log" for its logger SCANDIR/NAME/log.
std::string service_name(const std::string& dir) {
  const std::string base = svkit::basename_of(dir);
  if (base == "log" && svkit::path_exists(svkit::dirname_of(dir) + "/run")) {
    return svkit::basename_of(svkit::dirname_of(dir)) + "/log";
  }
  return base;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-') {
    std::fprintf(stderr, "supervise: usage: supervise SERVICE_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string name = service_name(dir);
  svkit::init_logging("supervise[" + name + "]");
  ::signal(SIGPIPE, SIG_IGN);

  uv_loop_t* loop = uv_default_loop();
  int code = 0;
  {
    svkit::supervise::Supervisor supervisor(loop, dir, name, svkit::Paths::from_environment());
    if (auto error = supervisor.open(); !error.empty()) {
      spdlog::error("{}", error);
      code = error.find("already supervised") != std::string::npos ? 1 : 111;
    } else {
      supervisor.begin();
      while (!supervisor.finished()) uv_run(loop, UV_RUN_DEFAULT);
    }
  }
  svkit::uv::drain_and_close(loop);
  return code;
}
