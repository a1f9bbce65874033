// svctl: the operator's command. Talks to each supervise through its control
// FIFO and reads its status file; see commands.hpp for the exit codes.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "../lib/paths.hpp"
#include "commands.hpp"

namespace {

struct LetterCommand {
  const char* name;
  const char* letters;
  const char* help;
};

constexpr LetterCommand kLetterCommands[] = {
    {"once", "o", "start it once, do not restart it"},
    {"restart", "r", "stop it with its down-signal; it comes back up"},
    {"term", "t", "send SIGTERM"},
    {"kill", "k", "send SIGKILL"},
    {"hup", "h", "send SIGHUP"},
};

}  // namespace

int main(int argc, char** argv) {
  using namespace svkit::svctl;
  ::signal(SIGPIPE, SIG_IGN);
  const auto paths = svkit::Paths::from_environment();
  Context ctx{paths.scandir, paths.rundir, paths.state_dir};

  CLI::App app{"svctl: control and inspect supervised services", "svctl"};
  app.require_subcommand(1);
  app.add_option("-s,--scandir", ctx.scandir, "scandir (default $SVKIT_SCANDIR)");
  app.add_option("--state-dir", ctx.state_dir, "state dir (default $SVKIT_STATE_DIR)");

  std::vector<std::string> names;
  std::function<int()> action;
  for (const auto& command : kLetterCommands) {
    auto* sub = app.add_subcommand(command.name, command.help);
    sub->add_option("names", names, "services")->required();
    sub->callback([&, letters = command.letters] {
      action = [&, letters] { return send_letters(ctx, letters, names); };
    });
  }

  auto* up_cmd =
      app.add_subcommand("up", "want up (persisted for a profile): start it, keep it up");
  up_cmd->add_option("names", names, "services")->required();
  up_cmd->callback([&] { action = [&] { return up(ctx, names); }; });
  auto* down_cmd = app.add_subcommand(
      "down", "planned-stop marker, want down (persisted for a profile), then stop it");
  down_cmd->add_option("names", names, "services")->required();
  down_cmd->callback([&] { action = [&] { return down(ctx, names); }; });
  auto* mark_cmd = app.add_subcommand(
      "mark-stop", "write the planned-stop marker only, before sending your own signal");
  mark_cmd->add_option("names", names, "services")->required();
  mark_cmd->callback([&] { action = [&] { return mark_stop(ctx, names); }; });

  std::string profile_name;
  std::vector<std::string> command;
  auto* add_cmd =
      app.add_subcommand("add", "register a dynamic profile service: add NAME [--] CMD...");
  add_cmd->add_option("name", profile_name, "profile name")->required();
  add_cmd->add_option("command", command, "the command the service execs")->required();
  add_cmd->positionals_at_end();
  add_cmd->callback([&] {
    names = {profile_name};
    if (!command.empty() && command.front() == "--") command.erase(command.begin());
    action = [&] { return add(ctx, profile_name, command); };
  });
  auto* remove_cmd = app.add_subcommand("remove", "stop and delete a dynamic profile service");
  remove_cmd->add_option("name", profile_name, "profile name")->required();
  remove_cmd->callback([&] {
    names = {profile_name};
    action = [&] { return remove(ctx, profile_name); };
  });

  bool json = false;
  auto* stat_cmd = app.add_subcommand("stat", "one line per service (all when none named)");
  stat_cmd->add_flag("--json", json, "print a JSON array of status objects");
  stat_cmd->add_option("names", names, "services");
  stat_cmd->callback([&] { action = [&] { return stat(ctx, names, json); }; });

  std::string condition;
  int64_t timeout = -1;
  auto* wait_cmd = app.add_subcommand("wait", "block until every named service is up/down/ready");
  wait_cmd->add_option("condition", condition, "up, down or ready")
      ->required()
      ->check(CLI::IsMember({"up", "down", "ready"}));
  wait_cmd->add_option("-t,--timeout", timeout, "give up after MS milliseconds (exit 3)")
      ->check(CLI::NonNegativeNumber);
  wait_cmd->add_option("names", names, "services")->required();
  wait_cmd->callback([&] {
    action = [&] {
      return wait_for(ctx, condition, timeout >= 0 ? std::optional<int64_t>(timeout) : std::nullopt,
                      names);
    };
  });

  auto* scan_cmd = app.add_subcommand("scan", "make svscan rescan the scandir now");
  scan_cmd->callback([&] { action = [&] { return scan(ctx); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "svctl: %s\n", e.what());
    return exit_code::kUsage;
  }
  for (const auto& name : names) {
    if (!valid_service_name(name)) {
      std::fprintf(stderr, "svctl: \"%s\" is not a service name (no '/', '..' or leading dot)\n",
                   name.c_str());
      return exit_code::kUsage;
    }
  }
  return action ? action() : exit_code::kUsage;
}
