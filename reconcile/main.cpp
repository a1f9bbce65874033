// reconcile: the boot-time hook. Persisted profile state → slots in the
// scandir, stale runtime files swept, svscan asked to rescan, one logfmt line
// per profile on stdout and in STATE/logs/boot.log. Idempotent.
//
// Exit: 0 when every profile was looked at (a profile that failed says so in
// its line and never stops the others); 2 on bad arguments; 111 when the
// state dir cannot be read or the boot log cannot be written.
#include <getopt.h>

#include <cstdio>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/instance.hpp"
#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "../state/slot.hpp"
#include "../svkit/programs.hpp"
#include "reconciler.hpp"

namespace {

constexpr const char* kUsage =
    "usage: reconcile [--state-dir DIR] [-s|--scandir DIR]\n"
    "Persisted profiles -> service slots, at boot.\n"
    "  --state-dir DIR   state dir (default $SVKIT_STATE_DIR)\n"
    "  -s, --scandir DIR scandir (default $SVKIT_SCANDIR)\n";

}  // namespace

// Options by libc's getopt_long: two of them do not need CLI11's code.
int svkit::programs::reconcile_main(int argc, char** argv) {
  const auto paths = svkit::Paths::from_environment();
  svkit::reconcile::Context ctx{paths.state_dir, paths.scandir, {}, {}};
  const option options[] = {{"state-dir", required_argument, nullptr, 'd'},
                            {"scandir", required_argument, nullptr, 's'},
                            {"help", no_argument, nullptr, 'h'},
                            {nullptr, 0, nullptr, 0}};
  opterr = 0;
  for (int opt; (opt = ::getopt_long(argc, argv, "s:h", options, nullptr)) != -1;) {
    if (opt == 'd') {
      ctx.state_dir = optarg;
    } else if (opt == 's') {
      ctx.scandir = optarg;
    } else if (opt == 'h') {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "reconcile: unknown or incomplete option '%s' (see reconcile --help)\n",
                   argv[optind - 1]);
      return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "reconcile: unexpected argument '%s' (see reconcile --help)\n",
                 argv[optind]);
    return 2;
  }
  svkit::init_logging("reconcile");

  if (auto instance = svkit::ensure_instance_id(paths.rundir)) {
    ctx.instance = *instance;
  } else {
    spdlog::error("no instance id: {}", instance.error().line);
  }
  if (auto failure = svkit::make_dirs(ctx.scandir)) {
    spdlog::error("{}", failure->line);
    return 111;
  }
  auto outcomes = svkit::reconcile::reconcile_all(ctx);
  if (!outcomes) {
    spdlog::error("{}", outcomes.error().line);
    return 111;
  }
  const std::string ts = svkit::rfc3339(svkit::now_ms());
  std::string lines;
  for (const auto& outcome : *outcomes) lines += svkit::reconcile::logfmt_line(ts, outcome) + "\n";
  std::fwrite(lines.data(), 1, lines.size(), stdout);
  std::fflush(stdout);
  svkit::state::request_rescan(paths.rundir);
  if (lines.empty()) return 0;
  if (auto failure = svkit::reconcile::append_boot_log(ctx.state_dir, lines)) {
    spdlog::error("{}", failure->line);
    return 111;
  }
  return 0;
}
