// svscan [--rescan-ms MS] [SCANDIR]: supervises every service of a scandir.
#include <signal.h>

#include <CLI/CLI.hpp>

#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "scanner.hpp"

int main(int argc, char** argv) {
  const auto paths = svkit::Paths::from_environment();
  std::string scandir = paths.scandir;
  uint64_t rescan_ms = 0;
  CLI::App app{"svscan: one supervise per service directory of SCANDIR", "svscan"};
  app.add_option("scandir", scandir, "scandir (default $SVKIT_SCANDIR or /run/service)");
  app.add_option("--rescan-ms", rescan_ms, "also rescan on this period (0: only on events)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "svscan: %s\n", e.what());
    return 2;
  }
  svkit::init_logging("svscan");
  ::signal(SIGPIPE, SIG_IGN);

  uv_loop_t* loop = uv_default_loop();
  int code = 0;
  {
    svkit::svscan::Scanner scanner(loop, scandir, paths.rundir, rescan_ms);
    if (auto error = scanner.open(); !error.empty()) {
      spdlog::error("{}", error);
      code = 111;
    } else {
      scanner.scan();
      while (!scanner.finished()) uv_run(loop, UV_RUN_DEFAULT);
    }
  }
  svkit::uv::drain_and_close(loop);
  return code;
}
