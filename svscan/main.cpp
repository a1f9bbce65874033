// svscan [--rescan-ms MS] [SCANDIR]: supervises every service of a scandir.
#include <signal.h>

#include <getopt.h>
#include <malloc.h>

#include <cstdio>

#include "../lib/log.hpp"
#include "../lib/number.hpp"
#include "../lib/paths.hpp"
#include "../svkit/programs.hpp"
#include "scanner.hpp"

namespace {

constexpr const char* kUsage =
    "usage: svscan [--rescan-ms MS] [SCANDIR]\n"
    "One supervise per service directory of SCANDIR (default $SVKIT_SCANDIR or /run/service).\n"
    "  --rescan-ms MS  also rescan on this period (0, the default: only on events)\n";

}  // namespace

// Options by libc's getopt_long, not CLI11: svscan lives as long as the
// container, and CLI11's code would stay in its private memory.
int svkit::programs::svscan_main(int argc, char** argv) {
  // A stop asked for before the handlers are in waits for them instead of
  // killing svscan: a restarted svscan killed so would leave the supervise
  // processes it was about to take back running, with no one to stop them.
  // Once they are in, nothing stays blocked, whatever mask svscan inherited.
  sigset_t stop_signals;
  ::sigemptyset(&stop_signals);
  for (int signal : {SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&stop_signals, signal);
  ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  const auto paths = svkit::Paths::from_environment();
  std::string scandir = paths.scandir;
  uint64_t rescan_ms = 0;
  const option options[] = {{"rescan-ms", required_argument, nullptr, 'r'},
                            {"help", no_argument, nullptr, 'h'},
                            {nullptr, 0, nullptr, 0}};
  opterr = 0;
  for (int opt; (opt = ::getopt_long(argc, argv, "h", options, nullptr)) != -1;) {
    if (opt == 'h') {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (auto ms = opt == 'r' ? svkit::parse_number<uint64_t>(optarg) : std::nullopt) {
      rescan_ms = *ms;
      continue;
    }
    if (opt == 'r') {
      std::fprintf(stderr, "svscan: --rescan-ms: '%s' is not a number of milliseconds\n", optarg);
    } else {
      std::fprintf(stderr, "svscan: unknown or incomplete option '%s' (see svscan --help)\n",
                   argv[optind - 1]);
    }
    return 2;
  }
  if (argc - optind > 1) {
    std::fprintf(stderr,
                 "svscan: one SCANDIR at most (usage: svscan [--rescan-ms MS] [SCANDIR])\n");
    return 2;
  }
  if (optind < argc) scandir = argv[optind];
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
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      scanner.scan();
      // The first scan starts every supervise at once: what it built to do
      // so is freed, and goes back to the system.
      ::malloc_trim(0);
      while (!scanner.finished()) uv_run(loop, UV_RUN_DEFAULT);
    }
  }
  svkit::uv::drain_and_close(loop);
  return code;
}
