#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "files.hpp"

extern char** environ;

namespace svkit {

// The child's environment: pointers into environ and into the request's own
// strings, nothing copied (supervise spawns at every restart, and every copy
// would be heap it keeps).
static std::vector<char*> merged_environment(const std::vector<std::string>& extra,
                                             const std::vector<std::string>& unset) {
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::vector<char*> env;
  for (char** e = environ; e && *e; ++e) {
    const auto name = name_of(*e);
    const bool replaced = std::any_of(extra.begin(), extra.end(),
                                      [&](const std::string& add) { return name_of(add) == name; });
    const bool removed = std::find(unset.begin(), unset.end(), name) != unset.end();
    if (!replaced && !removed) env.push_back(*e);
  }
  for (const auto& add : extra) env.push_back(const_cast<char*>(add.c_str()));
  env.push_back(nullptr);
  return env;
}

namespace {

// posix_spawn's two handles, destroyed on every path.
struct SpawnPlan {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnPlan() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnPlan() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnPlan(const SpawnPlan&) = delete;
  SpawnPlan& operator=(const SpawnPlan&) = delete;
};

// The fd wiring. When no source is also a target, each goes straight to its
// target (the usual case: a restart's output pipes onto 1 and 2); otherwise
// every source is first copied above all sources and targets, so that wiring
// one target cannot clobber the source of another.
void plan_fds(SpawnPlan& plan, const std::vector<std::pair<int, int>>& fds) {
  const bool sources_apart = std::none_of(fds.begin(), fds.end(), [&](auto fd) {
    return std::any_of(fds.begin(), fds.end(),
                       [&](auto other) { return other.first == fd.second; });
  });
  if (sources_apart) {
    for (auto [target, source] : fds) {
      if (source >= 0) {
        posix_spawn_file_actions_adddup2(&plan.actions, source, target);
      } else {
        posix_spawn_file_actions_addopen(&plan.actions, target, "/dev/null", O_RDWR, 0);
      }
    }
    return;
  }
  int above = 2;
  for (auto [target, source] : fds) above = std::max({above, target, source});
  ++above;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].second >= 0) {
      posix_spawn_file_actions_adddup2(&plan.actions, fds[i].second, above + int(i));
    }
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    auto [target, source] = fds[i];
    if (source >= 0) {
      posix_spawn_file_actions_adddup2(&plan.actions, above + int(i), target);
      posix_spawn_file_actions_addclose(&plan.actions, above + int(i));
    } else {
      posix_spawn_file_actions_addopen(&plan.actions, target, "/dev/null", O_RDWR, 0);
    }
  }
}

}  // namespace

// posix_spawn (glibc: clone with CLONE_VFORK): no page tables copied, and an
// exec failure comes back as an error, the failed child already reaped.
SpawnResult spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return {-1, EINVAL};
  std::vector<char*> envp = merged_environment(request.extra_env, request.unset_env);
  std::vector<char*> argv;
  for (const auto& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  SpawnPlan plan;
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&plan.attr, &none);
  posix_spawnattr_setsigdefault(&plan.attr, &all);
  if (request.foreground_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&plan.attr, 0);
    if (::isatty(STDIN_FILENO)) {
      posix_spawn_file_actions_addtcsetpgrp_np(&plan.actions, STDIN_FILENO);
    }
  } else if (request.new_session) {
    flags |= POSIX_SPAWN_SETSID;
  }
  posix_spawnattr_setflags(&plan.attr, flags);
  plan_fds(plan, request.fds);
  if (!request.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&plan.actions, request.cwd.c_str());
  }
  pid_t pid = -1;
  const int error =
      request.search_path
          ? ::posix_spawnp(&pid, argv[0], &plan.actions, &plan.attr, argv.data(), envp.data())
          : ::posix_spawn(&pid, argv[0], &plan.actions, &plan.attr, argv.data(), envp.data());
  if (error != 0) return {-1, error};
  return {pid, 0};
}

std::string describe_spawn_error(const std::string& program, const std::string& cwd, int error) {
  std::string name = program;
  if (name.starts_with("./")) name.erase(0, 2);
  const std::string path = program.starts_with('/') || cwd.empty() ? program : cwd + "/" + program;
  if (error == ENOENT && path_exists(path)) {
    // The file is there: what exec did not find is the #! interpreter.
    if (auto text = read_small_file(path, 1 << 20); text && text->starts_with("#!")) {
      std::string interpreter = text->substr(2, text->find('\n') - 2);
      interpreter.erase(0, interpreter.find_first_not_of(" \t"));
      interpreter.erase(std::min(interpreter.find_first_of(" \t\r"), interpreter.size()));
      return name + ": #!" + interpreter + ": interpreter not found";
    }
  }
  return name + ": " + std::strerror(error);
}

}  // namespace svkit
