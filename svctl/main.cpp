// svctl: the operator's command. Talks to each supervise through its control
// FIFO and reads its status file; see commands.hpp for the exit codes.
//
// svctl [-s SCANDIR] [--state-dir DIR] COMMAND [OPTIONS] [ARGS...]: each
// command is one row of kCommands (its words, its options, its help), which
// the parser, the help text and the dispatch all read. Options may come
// anywhere after the command; `--` ends them.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../lib/control.hpp"
#include "../lib/log.hpp"
#include "../lib/number.hpp"
#include "../lib/paths.hpp"
#include "../svkit/programs.hpp"
#include "commands.hpp"
#include "logs.hpp"

namespace {

using namespace svkit::svctl;

enum Option : unsigned {
  kWait = 1,
  kTimeout = 2,
  kJson = 4,
  kLines = 8,
  kFollow = 16,
  kEvidence = 32,
  kScandir = 64,
  kStateDir = 128,
};

struct OptionSpec {
  Option option;
  char letter;  // 0: a long name only
  const char* name;
  const char* value;  // nullptr: a flag
  const char* help;
};

constexpr OptionSpec kOptions[] = {
    {kWait, 'w', "wait", nullptr, "then wait until it is ready (exit 3 at -t)"},
    {kTimeout, 't', "timeout", "MS", "give up after MS milliseconds (exit 3)"},
    {kJson, 0, "json", nullptr, "a JSON array of status objects"},
    {kLines, 'n', "lines", "N", "how many lines (default 10)"},
    {kFollow, 'f', "follow", nullptr, "follow them as they grow"},
    {kEvidence, 0, "evidence", nullptr, "list the evidence files and print the newest"},
    {kScandir, 's', "scandir", "SCANDIR", "the scandir (default $SVKIT_SCANDIR)"},
    {kStateDir, 0, "state-dir", "DIR", "the state dir (default $SVKIT_STATE_DIR)"},
};
constexpr unsigned kGlobal = kScandir | kStateDir;

// What follows a command's name besides options.
enum class Words { names, any_names, condition_then_names, profile, profile_then_command, none };

struct CommandSpec {
  const char* name;
  Words words;
  unsigned options;
  char letter;  // a control letter for supervise, or 0
  const char* help;
};

constexpr CommandSpec kCommands[] = {
    {"up", Words::names, kWait | kTimeout, 0,
     "want up (persisted for a profile): start it, keep it up"},
    {"down", Words::names, 0, 0,
     "planned-stop marker, want down (persisted for a profile), then stop it"},
    {"once", Words::names, 0, svkit::control::kOnce, "start it once, do not restart it"},
    {"restart", Words::names, kWait | kTimeout, svkit::control::kRestart,
     "stop it with its down-signal; it comes back up"},
    {"term", Words::names, 0, svkit::control::kTerm,
     "send SIGTERM (an operator's stop: it comes back up)"},
    {"kill", Words::names, 0, svkit::control::kKill,
     "send SIGKILL (an operator's stop: it comes back up)"},
    {"hup", Words::names, 0, svkit::control::kHup, "send SIGHUP"},
    {"mark-stop", Words::names, 0, 0,
     "write the planned-stop marker only, before sending your own signal"},
    {"add", Words::profile_then_command, 0, 0, "register a dynamic profile service"},
    {"remove", Words::profile, 0, 0, "stop and delete a dynamic profile service"},
    {"stat", Words::any_names, kJson, 0, "one line per service (all when none named)"},
    {"check", Words::any_names, 0, 0,
     "a probe: exit 0 when every service (wanted up) is up, ready and healthy"},
    {"wait", Words::condition_then_names, kTimeout, 0,
     "block until every named service (all wanted up when none) is up/down/ready"},
    {"logs", Words::any_names, kLines | kFollow | kEvidence, 0,
     "the service logs: last lines, merged by time"},
    {"scan", Words::none, 0, 0, "make svscan rescan the scandir now"},
};

constexpr const char* kWordsSynopsis[] = {"NAME...", "[NAME...]",        "up|down|ready [NAME...]",
                                          "NAME",    "NAME [--] CMD...", ""};

struct Invocation {
  const CommandSpec* command = nullptr;
  std::vector<std::string> words;
  bool wait = false, json = false, follow = false, evidence = false;
  std::optional<int64_t> timeout_ms;  // none: no timeout
  std::optional<size_t> lines;
};

int usage_error(std::string line) {
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::fprintf(stderr, "svctl: %s\n", line.c_str());
  return exit_code::kUsage;
}

std::string command_list() {
  std::string list;
  for (const auto& command : kCommands)
    list += (list.empty() ? "" : ", ") + std::string(command.name);
  return list;
}

std::string synopsis(const CommandSpec& command) {
  std::string line = command.name;
  for (const auto& option : kOptions) {
    if (!(command.options & option.option)) continue;
    line += option.letter ? std::string(" [-") + option.letter : std::string(" [--") + option.name;
    line += option.value ? std::string(" ") + option.value + "]" : std::string("]");
  }
  const char* words = kWordsSynopsis[size_t(command.words)];
  return *words ? line + " " + words : line;
}

void print_options(std::string& out, unsigned options) {
  for (const auto& option : kOptions) {
    if (!(options & option.option)) continue;
    std::string flag = option.letter ? std::string("-") + option.letter + ", --" + option.name
                                     : std::string("    --") + option.name;
    if (option.value) flag += std::string(" ") + option.value;
    out += "  " + flag + std::string(flag.size() < 24 ? 24 - flag.size() : 1, ' ') + option.help +
           "\n";
  }
}

int help(const CommandSpec* command) {
  std::string out;
  if (command) {
    out = "usage: svctl " + synopsis(*command) + "\n" + command->help + "\n";
    if (command->options) out += "options:\n";
    print_options(out, command->options);
  } else {
    out =
        "svctl: control and inspect supervised services\n"
        "usage: svctl [-s SCANDIR] [--state-dir DIR] COMMAND [OPTIONS] [ARGS...]\n"
        "options:\n";
    print_options(out, kGlobal);
    out += "commands:\n";
    for (const auto& spec : kCommands) {
      const std::string line = synopsis(spec);
      out += "  " + line + std::string(line.size() < 40 ? 40 - line.size() : 1, ' ') + spec.help +
             "\n";
    }
    out += "svctl COMMAND --help: the command's options\n";
  }
  std::fputs(out.c_str(), stdout);
  return exit_code::kOk;
}

// One option's effect; an exit code when its value is not one.
std::optional<int> set_option(const OptionSpec& option, const std::optional<std::string>& value,
                              const std::string& where, Context& ctx, Invocation& in) {
  switch (option.option) {
    case kWait:
      in.wait = true;
      break;
    case kTimeout:
      // -t MS; an empty MS is no timeout.
      in.timeout_ms = value->empty() ? std::nullopt : svkit::parse_number<int64_t>(*value);
      if (!value->empty() && (!in.timeout_ms || *in.timeout_ms < 0)) {
        return usage_error(where + "-t \"" + *value + "\" is not a whole number of milliseconds");
      }
      break;
    case kJson:
      in.json = true;
      break;
    case kLines:
      in.lines = svkit::parse_number<size_t>(*value);
      if (!in.lines) return usage_error(where + "-n \"" + *value + "\" is not a number of lines");
      break;
    case kFollow:
      in.follow = true;
      break;
    case kEvidence:
      in.evidence = true;
      break;
    case kScandir:
      ctx.scandir = *value;
      break;
    case kStateDir:
      ctx.state_dir = *value;
      break;
  }
  return std::nullopt;
}

// The words after the command's name, against what it takes.
std::optional<int> check_words(const Invocation& in) {
  const std::string where = std::string(in.command->name) + ": ";
  const size_t count = in.words.size();
  switch (in.command->words) {
    case Words::names:
      if (count == 0) return usage_error(where + "name at least one service");
      break;
    case Words::condition_then_names:
      if (count == 0 || (in.words[0] != "up" && in.words[0] != "down" && in.words[0] != "ready")) {
        return usage_error(where + "\"" + (count ? in.words[0] : "") +
                           "\" is not up, down or ready");
      }
      break;
    case Words::profile:
      if (count != 1) return usage_error(where + "one profile name");
      break;
    case Words::profile_then_command:
      if (count < 2)
        return usage_error(where + "a profile name, then the command (add NAME [--] CMD...)");
      break;
    case Words::none:
      if (count != 0) return usage_error(where + "takes no arguments");
      break;
    case Words::any_names:
      break;
  }
  return std::nullopt;
}

// Parses argv into `in`; an exit code when there is nothing to run (help, or
// a usage error said in one line).
std::optional<int> parse(int argc, char** argv, Context& ctx, Invocation& in) {
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::string where = in.command ? std::string(in.command->name) + ": " : "";
    // add NAME [--] CMD...: after the name, every word is the command's own.
    if (in.command && in.command->words == Words::profile_then_command && !in.words.empty()) {
      if (arg == "--" && in.words.size() == 1 && !options_ended) {
        options_ended = true;
      } else {
        in.words.emplace_back(arg);
      }
      continue;
    }
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      if (in.command) {
        in.words.emplace_back(arg);
        continue;
      }
      const auto* found = std::find_if(std::begin(kCommands), std::end(kCommands),
                                       [&](const CommandSpec& c) { return arg == c.name; });
      if (found == std::end(kCommands)) {
        return usage_error("unknown command \"" + std::string(arg) +
                           "\"; commands: " + command_list());
      }
      in.command = found;
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") return help(in.command);
    // --name, --name=VALUE, -x, -xVALUE
    const bool long_form = arg.starts_with("--");
    const auto equals = arg.find('=');
    const std::string_view name =
        long_form ? arg.substr(2, equals == std::string_view::npos ? arg.npos : equals - 2)
                  : arg.substr(1, 1);
    const unsigned allowed = kGlobal | (in.command ? in.command->options : 0);
    const auto* option = std::find_if(std::begin(kOptions), std::end(kOptions), [&](const auto& o) {
      return (allowed & o.option) && (long_form ? name == o.name : name[0] == o.letter);
    });
    if (option == std::end(kOptions)) {
      return usage_error(where + "unknown option \"" + std::string(arg) + "\" (see svctl " +
                         (in.command ? std::string(in.command->name) + " " : "") + "--help)");
    }
    std::optional<std::string> value;
    if (long_form && equals != std::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (!long_form && arg.size() > 2) {
      value = std::string(arg.substr(2));
    }
    if (option->value && !value) {
      if (i + 1 == argc) {
        return usage_error(where + std::string(arg) + " needs a value (" + option->value + ")");
      }
      value = argv[++i];
    } else if (!option->value && value) {
      return usage_error(where + std::string(arg) + " takes no value");
    }
    if (auto code = set_option(*option, value, where, ctx, in)) return code;
  }
  if (!in.command) return usage_error("no command; commands: " + command_list());
  return check_words(in);
}

// The services a command names: what it validates as service names.
std::vector<std::string> service_names(const Invocation& in) {
  switch (in.command->words) {
    case Words::names:
    case Words::any_names:
    case Words::profile:
      return in.words;
    case Words::condition_then_names:
      return {in.words.begin() + 1, in.words.end()};
    default:
      return {};
  }
}

int run(const Context& ctx, const Invocation& in, const std::vector<std::string>& names) {
  const std::string_view name = in.command->name;
  // -w [-t MS]: the command, then a wait until each service is ready, on a
  // new instance when `fresh` names the running one (never taken for it).
  auto then_wait = [&](int code, const std::map<std::string, Instance>& fresh) {
    if (code != exit_code::kOk || !in.wait) return code;
    return wait_for(ctx, "ready", in.timeout_ms, names, fresh);
  };
  if (in.command->letter) {
    const bool restart = in.command->letter == svkit::control::kRestart && in.wait;
    const auto before = restart ? running_instances(ctx, names) : std::map<std::string, Instance>{};
    return then_wait(send_letter(ctx, in.command->letter, names), before);
  }
  if (name == "up") return then_wait(up(ctx, names), {});
  if (name == "down") return down(ctx, names);
  if (name == "mark-stop") return mark_stop(ctx, names);
  if (name == "add") return add(ctx, in.words[0], {in.words.begin() + 1, in.words.end()});
  if (name == "remove") return remove(ctx, in.words[0]);
  if (name == "stat") return stat(ctx, names, in.json);
  if (name == "check") return check(ctx, names);
  if (name == "wait") return wait_for(ctx, in.words[0], in.timeout_ms, names);
  if (name == "logs") {
    const LogsOptions options{.names = names.empty() ? all_services(ctx.scandir) : names,
                              .lines = in.lines.value_or(LogsOptions{}.lines),
                              .follow = in.follow,
                              .evidence = in.evidence};
    return logs(ctx, options);
  }
  return scan(ctx);
}

}  // namespace

int svkit::programs::svctl_main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  // svctl says what it has to say itself, but the library it calls may log
  // (and the one binary builds spdlog without a default logger).
  svkit::init_logging("svctl");
  const auto paths = svkit::Paths::from_environment();
  Context ctx{paths.scandir, paths.rundir, paths.state_dir, paths.log_dir};
  Invocation in;
  if (auto code = parse(argc, argv, ctx, in)) return *code;
  const auto names = service_names(in);
  for (const auto& name : names) {
    if (!valid_service_name(name)) {
      return usage_error("\"" + name +
                         "\" is not a service name (UTF-8, no '/' or '..', no leading dot)");
    }
  }
  if (in.command->words != Words::none) {
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
  return run(ctx, in, names);
}
