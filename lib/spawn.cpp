#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

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

// Every signal an svkit program catches (uv::Signal) or ignores (::signal).
constexpr int kSignalsSvkitChanges[] = {SIGCHLD, SIGTERM, SIGINT,  SIGHUP, SIGUSR1,
                                        SIGUSR2, SIGPIPE, SIGTTIN, SIGTTOU};

// The signals the child sets back to their defaults: those above, and every
// one this process found caught or ignored at its first spawn (inherited:
// `nohup` ignores SIGHUP, a script's `svscan &` SIGINT and SIGQUIT). A caught
// one would run the parent's handler in the child (vfork shares the memory)
// were it to arrive between the unblocking and the exec; an ignored one would
// stay ignored through the exec. glibc's posix_spawn looks at all 64 in every
// child instead, one system call each, on every restart.
const std::vector<int>& signals_to_reset() {
  static const std::vector<int> signals = [] {
    std::vector<int> found(std::begin(kSignalsSvkitChanges), std::end(kSignalsSvkitChanges));
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction current {};
      if (::sigaction(sig, nullptr, &current) == 0 && current.sa_handler != SIG_DFL &&
          std::find(found.begin(), found.end(), sig) == found.end()) {
        found.push_back(sig);
      }
    }
    return found;
  }();
  return signals;
}

// One step of the child's fd wiring: dup2(source, target), or /dev/null on
// target (source < 0), or close(target) (source == kClose).
struct FdStep {
  static constexpr int kClose = -2;
  int target;
  int source;
};

// The fd wiring. When no source is also a target, each goes straight to its
// target (the usual case: a restart's output pipes onto 1 and 2); otherwise
// every source is first copied above all sources and targets, so that wiring
// one target cannot clobber the source of another.
std::vector<FdStep> plan_fds(const std::vector<std::pair<int, int>>& fds) {
  const bool sources_apart = std::none_of(fds.begin(), fds.end(), [&](auto fd) {
    return std::any_of(fds.begin(), fds.end(),
                       [&](auto other) { return other.first == fd.second; });
  });
  std::vector<FdStep> steps;
  if (sources_apart) {
    for (auto [target, source] : fds) steps.push_back({target, source});
    return steps;
  }
  int above = 2;
  for (auto [target, source] : fds) above = std::max({above, target, source});
  ++above;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].second >= 0) steps.push_back({above + int(i), fds[i].second});
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    auto [target, source] = fds[i];
    if (source >= 0) {
      steps.push_back({target, above + int(i)});
      steps.push_back({above + int(i), FdStep::kClose});
    } else {
      steps.push_back({target, source});
    }
  }
  return steps;
}

// The programs execvp would try, in its order: argv[0] as it is when it names
// a path, else each PATH entry's.
std::vector<std::string> program_candidates(const std::string& program, bool search_path) {
  if (!search_path || program.find('/') != std::string::npos) return {program};
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/bin:/usr/bin";  // glibc's default
  std::vector<std::string> candidates;
  while (true) {
    const auto colon = dirs.find(':');
    const auto dir = dirs.substr(0, colon);
    candidates.push_back((dir.empty() ? "." : std::string(dir)) + "/" + program);
    if (colon == std::string_view::npos) return candidates;
    dirs.remove_prefix(colon + 1);
  }
}

// Everything the child needs, made before the vfork: the child only makes
// system calls, then execs or _exits.
struct ChildPlan {
  const std::vector<int>* signals_to_reset;
  std::vector<const char*> programs{};
  char* const* argv;
  char* const* envp;
  const std::vector<FdStep>* fd_steps;
  const char* cwd;  // nullptr: inherit
  bool new_session;
  bool foreground_group;
  bool take_terminal;
};

int wire_fd(const FdStep& step) {
  if (step.source == FdStep::kClose) return ::close(step.target);
  if (step.source >= 0) return ::dup2(step.source, step.target) < 0 ? -1 : 0;
  const int null = ::open("/dev/null", O_RDWR);
  if (null < 0 || null == step.target) return null < 0 ? -1 : 0;
  const int wired = ::dup2(null, step.target);
  ::close(null);
  return wired < 0 ? -1 : 0;
}

// In the vforked child, every signal still blocked: returns only on failure,
// with errno set.
void become_program(const ChildPlan& plan) {
  struct sigaction defaults {};
  defaults.sa_handler = SIG_DFL;
  for (int sig : *plan.signals_to_reset) ::sigaction(sig, &defaults, nullptr);
  if (plan.foreground_group) {
    if (::setpgid(0, 0) < 0) return;
    if (plan.take_terminal && ::tcsetpgrp(STDIN_FILENO, ::getpgrp()) < 0) return;
  } else if (plan.new_session && ::setsid() < 0) {
    return;
  }
  for (const FdStep& step : *plan.fd_steps) {
    if (wire_fd(step) < 0) return;
  }
  if (plan.cwd && ::chdir(plan.cwd) < 0) return;
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // execvp's rule: a program found but not executable is reported as such even
  // when a later candidate is missing; a missing one moves on.
  bool denied = false;
  for (const char* program : plan.programs) {
    ::execve(program, plan.argv, plan.envp);
    if (errno == EACCES) {
      denied = true;
    } else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV &&
               errno != ETIMEDOUT) {
      return;
    }
  }
  if (denied) errno = EACCES;
}

}  // namespace

// vfork + execve: no page tables copied, the parent waits only until the
// child's exec, and an exec failure comes back as an error, the failed child
// already reaped. (Not glibc's posix_spawn, whose child resets all 64 signal
// dispositions: ~0.2 ms of every restart on a VM; docs/operating.md.)
SpawnResult spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return {-1, EINVAL};
  if (request.argv[0].empty()) return {-1, ENOENT};
  std::vector<char*> envp = merged_environment(request.extra_env, request.unset_env);
  std::vector<char*> argv;
  for (const auto& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::vector<std::string> candidates =
      program_candidates(request.argv[0], request.search_path);
  const std::vector<FdStep> fd_steps = plan_fds(request.fds);
  ChildPlan plan{.signals_to_reset = &signals_to_reset(),
                 .argv = argv.data(),
                 .envp = envp.data(),
                 .fd_steps = &fd_steps,
                 .cwd = request.cwd.empty() ? nullptr : request.cwd.c_str(),
                 .new_session = request.new_session,
                 .foreground_group = request.foreground_group,
                 .take_terminal = request.foreground_group && ::isatty(STDIN_FILENO)};
  for (const auto& candidate : candidates) plan.programs.push_back(candidate.c_str());

  // Blocked until the child has reset what the parent catches (see above).
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  volatile int child_error = 0;  // shared: the child runs in this memory until its exec
  const pid_t pid = ::vfork();
  if (pid == 0) {
    become_program(plan);
    child_error = errno;
    ::_exit(127);
  }
  const int vfork_error = pid < 0 ? errno : 0;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return {-1, vfork_error};
  if (child_error != 0) {
    ::waitpid(pid, nullptr, 0);
    return {-1, child_error};
  }
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
