// reconcile: the boot-time hook. Persisted profile state → slots in the
// scandir, stale runtime files swept, svscan asked to rescan, one logfmt line
// per profile on stdout and in STATE/logs/boot.log. Idempotent.
//
// Exit: 0 when every profile was looked at (a profile that failed says so in
// its line and never stops the others); 2 on bad arguments; 111 when the
// state dir cannot be read or the boot log cannot be written.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/instance.hpp"
#include "../lib/log.hpp"
#include "../lib/paths.hpp"
#include "../state/slot.hpp"
#include "reconciler.hpp"

int main(int argc, char** argv) {
  const auto paths = svkit::Paths::from_environment();
  svkit::reconcile::Context ctx{paths.state_dir, paths.scandir, {}, {}};
  CLI::App app{"reconcile: persisted profiles -> service slots, at boot", "reconcile"};
  app.add_option("--state-dir", ctx.state_dir, "state dir (default $SVKIT_STATE_DIR)");
  app.add_option("-s,--scandir", ctx.scandir, "scandir (default $SVKIT_SCANDIR)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "reconcile: %s\n", e.what());
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
