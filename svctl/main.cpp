// svctl: the operator's command. Talks to each supervise through its control
// FIFO and reads its status file; see commands.hpp for the exit codes.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include "../lib/number.hpp"
#include "cli.hpp"

#include "../lib/control.hpp"
#include "../lib/files.hpp"
#include "../lib/paths.hpp"
#include "../svkit/programs.hpp"
#include "commands.hpp"
#include "logs.hpp"

namespace {

using namespace svkit::svctl;

struct LetterCommand {
  const char* name;
  char letter;
  const char* help;
};

constexpr LetterCommand kLetterCommands[] = {
    {"once", svkit::control::kOnce, "start it once, do not restart it"},
    {"restart", svkit::control::kRestart, "stop it with its down-signal; it comes back up"},
    {"term", svkit::control::kTerm, "send SIGTERM (an operator's stop: it comes back up)"},
    {"kill", svkit::control::kKill, "send SIGKILL (an operator's stop: it comes back up)"},
    {"hup", svkit::control::kHup, "send SIGHUP"},
};

int usage_error(std::string line) {
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::fprintf(stderr, "svctl: %s\n", line.c_str());
  return exit_code::kUsage;
}

std::string command_list(const CLI::App& app) {
  std::string list;
  for (const auto* sub : app.get_subcommands({})) {
    list += (list.empty() ? "" : ", ") + sub->get_name();
  }
  return list;
}

// The first word that is neither an option nor an option's value: the command.
std::string command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "-s" || word == "--scandir" || word == "--state-dir") {
      ++i;
    } else if (!word.starts_with('-')) {
      return word;
    }
  }
  return {};
}

// -t MS: nullopt when it is not a number; an empty text is no timeout.
std::optional<std::optional<int64_t>> parse_timeout(const std::string& text) {
  if (text.empty()) return std::optional<int64_t>{};
  const auto ms = svkit::parse_number<int64_t>(text);
  if (!ms || *ms < 0) return std::nullopt;
  return std::optional<int64_t>{*ms};
}

}  // namespace

int svkit::programs::svctl_main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  const auto paths = svkit::Paths::from_environment();
  Context ctx{paths.scandir, paths.rundir, paths.state_dir, paths.log_dir};

  CLI::App app{"svctl: control and inspect supervised services", "svctl"};
  app.require_subcommand(1);
  app.add_option("-s,--scandir", ctx.scandir, "scandir (default $SVKIT_SCANDIR)");
  app.add_option("--state-dir", ctx.state_dir, "state dir (default $SVKIT_STATE_DIR)");

  std::vector<std::string> names;
  std::function<int()> action;
  bool uses_scandir = true;
  std::string timeout_text;
  bool wait_ready = false;
  // -w [-t MS]: the command, then a wait until each service is ready, on a new
  // instance when `fresh` names the running one (never taken for it).
  auto with_wait = [&](const std::function<int()>& command,
                       const std::map<std::string, Instance>& fresh) -> int {
    const auto timeout = parse_timeout(timeout_text);
    if (wait_ready && !timeout) {
      return usage_error("-t \"" + timeout_text + "\" is not a whole number of milliseconds");
    }
    const int code = command();
    if (code != exit_code::kOk || !wait_ready) return code;
    return wait_for(ctx, "ready", *timeout, names, fresh);
  };
  for (const auto& command : kLetterCommands) {
    auto* sub = app.add_subcommand(command.name, command.help);
    sub->add_option("names", names, "services")->required();
    const bool restart = command.letter == svkit::control::kRestart;
    if (restart) {
      sub->add_flag("-w,--wait", wait_ready, "wait until the new instance is ready (exit 3 at -t)");
      sub->add_option("-t,--timeout", timeout_text, "with -w: give up after MS milliseconds");
    }
    sub->callback([&, letter = command.letter, restart] {
      action = [&, letter, restart] {
        const auto before =
            restart ? running_instances(ctx, names) : std::map<std::string, Instance>{};
        return with_wait([&] { return send_letter(ctx, letter, names); }, before);
      };
    });
  }

  auto* up_cmd =
      app.add_subcommand("up", "want up (persisted for a profile): start it, keep it up");
  up_cmd->add_option("names", names, "services")->required();
  up_cmd->add_flag("-w,--wait", wait_ready, "wait until it is ready (exit 3 at -t)");
  up_cmd->add_option("-t,--timeout", timeout_text, "with -w: give up after MS milliseconds");
  up_cmd->callback([&] { action = [&] { return with_wait([&] { return up(ctx, names); }, {}); }; });
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

  auto* check_cmd = app.add_subcommand(
      "check", "a probe: exit 0 when every service (wanted up) is up, ready and healthy");
  check_cmd->add_option("names", names, "services (all wanted up when none named)");
  check_cmd->callback([&] { action = [&] { return check(ctx, names); }; });

  std::string condition;
  auto* wait_cmd = app.add_subcommand(
      "wait", "block until every named service (all wanted up when none) is up/down/ready");
  wait_cmd->add_option("condition", condition, "up, down or ready")->required();
  wait_cmd->add_option("-t,--timeout", timeout_text, "give up after MS milliseconds (exit 3)");
  wait_cmd->add_option("names", names, "services (every one when none named)");
  wait_cmd->callback([&] {
    action = [&]() -> int {
      if (condition != "up" && condition != "down" && condition != "ready") {
        return usage_error("wait: \"" + condition + "\" is not up, down or ready");
      }
      auto timeout = parse_timeout(timeout_text);
      if (!timeout) {
        return usage_error("wait: -t \"" + timeout_text +
                           "\" is not a whole number of milliseconds");
      }
      return wait_for(ctx, condition, *timeout, names);
    };
  });

  LogsOptions logs_options;
  auto* logs_cmd = app.add_subcommand("logs", "the service logs: last lines, merged by time");
  logs_cmd->add_option("-n,--lines", logs_options.lines, "how many lines (default 10)");
  logs_cmd->add_flag("-f,--follow", logs_options.follow, "follow them as they grow");
  logs_cmd->add_flag("--evidence", logs_options.evidence,
                     "list the evidence files and print the newest");
  logs_cmd->add_option("names", names, "services (all when none named)");
  logs_cmd->callback([&] {
    action = [&] {
      logs_options.names = names.empty() ? all_services(ctx.scandir) : names;
      return logs(ctx, logs_options);
    };
  });

  auto* scan_cmd = app.add_subcommand("scan", "make svscan rescan the scandir now");
  scan_cmd->callback([&] {
    uses_scandir = false;
    action = [&] { return scan(ctx); };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return svkit::exit_with_help(app, e);
  } catch (const CLI::ParseError& e) {
    const std::string word = command_word(argc, argv);
    const auto commands = app.get_subcommands({});
    if (!word.empty() && std::none_of(commands.begin(), commands.end(),
                                      [&](const CLI::App* s) { return s->get_name() == word; })) {
      return usage_error("unknown command \"" + word + "\"; commands: " + command_list(app));
    }
    if (word.empty() && argc <= 1) {
      return usage_error("no command; commands: " + command_list(app));
    }
    return usage_error(e.what());
  }
  for (const auto& name : names) {
    if (!valid_service_name(name)) {
      return usage_error("\"" + name +
                         "\" is not a service name (UTF-8, no '/' or '..', no "
                         "leading dot)");
    }
  }
  if (uses_scandir) {
    struct stat st {};
    const int rc = ::stat(ctx.scandir.c_str(), &st);
    const int err = errno;
    if (rc != 0 && (err == EACCES || err == EPERM)) {
      std::fprintf(stderr, "svctl: scandir %s: permission denied\n", ctx.scandir.c_str());
      return exit_code::kPermission;
    }
    if (rc != 0 || !S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "svctl: scandir %s does not exist\n", ctx.scandir.c_str());
      return exit_code::kSystem;
    }
  }
  return action ? action() : exit_code::kUsage;
}
