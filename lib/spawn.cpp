#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fd.hpp"

extern char** environ;

namespace svkit {

void reset_signals_for_child() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

static std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& add : extra) {
      auto eq = add.find('=');
      if (entry.substr(0, eq + 1) == std::string_view(add).substr(0, eq + 1)) replaced = true;
    }
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// In the child, before exec: the errno goes to the waiting parent, or (when
// nobody waits) one line on the child's stderr, and the child exits 127.
[[noreturn]] static void child_fail(int report_fd, const char* program) {
  int err = errno;
  if (report_fd >= 0) {
    (void)!::write(report_fd, &err, sizeof err);
  } else {
    std::string line =
        std::string("svkit: cannot exec ") + program + ": " + std::strerror(err) + "\n";
    (void)!::write(STDERR_FILENO, line.data(), line.size());
  }
  ::_exit(127);
}

SpawnResult spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return {-1, EINVAL};
  std::vector<std::string> env_strings = merged_environment(request.extra_env);
  std::vector<char*> argv;
  for (const auto& a : request.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int highest_target = 2;
  for (auto [target, source] : request.fds) highest_target = std::max(highest_target, target);

  Pipe report;
  if (request.wait_for_exec) {
    report = make_pipe();
    if (!report.write) return {-1, errno};
  }
  const int report_fd = report.write ? report.write.get() : -1;

  // Every signal blocked across fork: the parent's handlers must not run in
  // the child, and a blocked SIGTTOU lets a new group take the terminal.
  sigset_t all, saved;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &saved);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (request.foreground_group) {
      ::setpgid(0, 0);
      if (::isatty(STDIN_FILENO)) ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    } else if (request.new_session) {
      ::setsid();
    }
    reset_signals_for_child();
    // Copy every source above all targets first, so that wiring one target
    // cannot clobber the source of another.
    std::vector<int> staged;
    for (auto [target, source] : request.fds) {
      int src = source >= 0 ? source : ::open("/dev/null", O_RDWR | O_CLOEXEC);
      int copy = ::fcntl(src, F_DUPFD_CLOEXEC, highest_target + 1);
      if (copy < 0) child_fail(report_fd, argv[0]);
      staged.push_back(copy);
    }
    for (size_t i = 0; i < request.fds.size(); ++i) {
      if (::dup2(staged[i], request.fds[i].first) < 0) child_fail(report_fd, argv[0]);
    }
    if (!request.cwd.empty() && ::chdir(request.cwd.c_str()) != 0) child_fail(report_fd, argv[0]);
    if (request.search_path) {
      ::execvpe(argv[0], argv.data(), envp.data());
    } else {
      ::execve(argv[0], argv.data(), envp.data());
    }
    child_fail(report_fd, argv[0]);
  }
  const int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) return {-1, fork_errno};
  // Also here, so that the group exists whichever of the two runs first.
  if (request.foreground_group) ::setpgid(pid, pid);
  report.write.reset();
  if (!request.wait_for_exec) return {pid, 0};
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report.read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    // The child failed before exec and is exiting: collect it here so that no
    // caller sees an exit for a process that never ran.
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return {-1, child_errno};
  }
  return {pid, 0};
}

}  // namespace svkit
