// svinit as a real PID 1 in tests: `unshare --pid --fork --mount-proc` gives
// it a PID namespace of its own (and a mount namespace, where it mounts its
// tmpfs scandir). The test reads svinit's view of the files through
// /proc/PID/root, and reaches the services with `svctl -s` through the same
// path: pids in status.json are namespace pids, never signalled from here.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/spawn.hpp"
#include "harness.hpp"

namespace svkit::test {

inline constexpr const char* kUnshare = "/usr/bin/unshare";
inline constexpr const char* kNoNamespaces =
    "unshare --pid --fork --mount-proc does not work here (it needs root)";
inline const std::string kSvinit = SVKIT_TEST_SVINIT;

inline bool namespaces_work() {
  static const bool works = [] {
    if (::access(kUnshare, X_OK) != 0) return false;
    auto probe = spawn({.argv = {kUnshare, "--pid", "--fork", "--mount-proc", "true"},
                        .fds = {{0, -1}, {1, -1}, {2, -1}}});
    return probe.pid > 0 && wait_child(probe.pid) == 0;
  }();
  return works;
}

inline void add_static_service(Sandbox& sb, const std::string& name, const std::string& run_body,
                               const std::map<std::string, std::string>& files = {}) {
  sb.write("services.d/" + name + "/run", "#!/bin/sh\n" + run_body + "\n", true);
  for (const auto& [file, content] : files) {
    sb.write("services.d/" + name + "/" + file, content, file == "finish");
  }
}

inline void add_hook(Sandbox& sb, const std::string& name, const std::string& body) {
  sb.write("cont-init.d/" + name, "#!/bin/sh\n" + body + "\n", true);
}

inline size_t lines_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  size_t count = 0;
  for (std::string line; std::getline(in, line);) count += line.find(needle) != std::string::npos;
  return count;
}

// One svinit boot. As PID 1 of new namespaces by default; with
// `pid_namespace` false it only gets a private mount namespace (for its
// tmpfs) and runs as an ordinary child of the test.
class Container {
 public:
  // How to boot: `setup` is shell run as root inside the namespaces just
  // before svinit (mounts), `prefix` goes before svinit's own argv (setpriv).
  struct Boot {
    std::vector<std::string> cmd{};
    std::map<std::string, std::string> env{};
    bool pid_namespace = true;
    int stdout_fd = -1;  // default: the file out() reads
    std::string setup{};
    std::vector<std::string> prefix{};
  };

  Container(Sandbox& sb, const std::vector<std::string>& cmd,
            const std::map<std::string, std::string>& env = {}, bool pid_namespace = true)
      : Container(sb, Boot{.cmd = cmd, .env = env, .pid_namespace = pid_namespace}) {}
  Container(Sandbox& sb, std::initializer_list<std::string> cmd)
      : Container(sb, std::vector<std::string>(cmd)) {}

  Container(Sandbox& sb, Boot boot) : sb_(sb), pid_namespace_(boot.pid_namespace) {
    static int boots = 0;
    const std::string log = sb.path("svinit-" + std::to_string(++boots));
    err_path_ = log + ".err";
    out_path_ = log + ".out";
    UniqueFd out(::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    UniqueFd err(::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    std::vector<std::string> argv{kUnshare};
    if (boot.pid_namespace) {
      argv.insert(argv.end(), {"--pid", "--fork", "--mount-proc", "--kill-child"});
    } else {
      argv.push_back("--mount");
    }
    if (!boot.setup.empty()) {
      argv.insert(argv.end(), {"/bin/sh", "-c", "set -e\n" + boot.setup + "\nexec \"$@\"", "sh"});
    }
    argv.insert(argv.end(), boot.prefix.begin(), boot.prefix.end());
    argv.insert(argv.end(), {kSvinit, "--"});
    argv.insert(argv.end(), boot.cmd.begin(), boot.cmd.end());
    auto started = spawn(
        {.argv = argv,
         .extra_env = environment(boot.env),
         .cwd = sb.root(),
         .fds = {{0, -1}, {1, boot.stdout_fd >= 0 ? boot.stdout_fd : out.get()}, {2, err.get()}}});
    EXPECT_GT(started.pid, 0) << "cannot start unshare: " << std::strerror(started.error);
    unshare_pid_ = started.pid;
  }

  ~Container() {
    if (unshare_pid_ <= 0 || exit_code_ >= 0) return;
    // svinit's death takes the namespace with it; unshare returns once all are gone.
    if (init_pid_ > 0 && init_pid_ != unshare_pid_) ::kill(init_pid_, SIGKILL);
    if (wait_child(unshare_pid_, std::chrono::seconds(5)) < 0) {
      ::kill(unshare_pid_, SIGKILL);  // --kill-child takes svinit, and so the namespace, down
      wait_child(unshare_pid_);
    }
  }

  // svinit's exit code, -1 when it did not exit in time.
  int wait(std::chrono::milliseconds deadline = kDeadline) {
    if (exit_code_ < 0) exit_code_ = wait_child(unshare_pid_, deadline);
    return exit_code_;
  }

  // svinit's pid as the test sees it: unshare's child, or unshare itself
  // (which execs svinit) without a PID namespace.
  pid_t init_pid() {
    if (init_pid_ > 0) return init_pid_;
    if (!pid_namespace_) return init_pid_ = unshare_pid_;
    const std::string children = "/proc/" + std::to_string(unshare_pid_) + "/task/" +
                                 std::to_string(unshare_pid_) + "/children";
    eventually([&] { return !read_text(children).empty(); }, "unshare to fork svinit");
    init_pid_ = std::atoi(read_text(children).c_str());
    return init_pid_;
  }

  // `path` as svinit sees it, in its mount namespace.
  std::string inside(const std::string& path) {
    return "/proc/" + std::to_string(init_pid()) + "/root" + path;
  }
  std::optional<Status> status(const std::string& name) {
    return status_at(inside(sb_.service_dir(name)));
  }
  CommandResult svctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"-s", inside(sb_.scandir())});
    return sb_.svctl(args);
  }
  std::string err() const { return read_text(err_path_); }
  std::string out() const { return read_text(out_path_); }

  void wait_up(const std::vector<std::string>& names, const std::string& condition = "up") {
    for (const auto& name : names) {
      eventually([&] { return is_directory(inside(sb_.service_dir(name))); },
                 name + " in svinit's scandir", [&] { return err(); });
    }
    std::vector<std::string> args{"wait", condition, "-t", std::to_string(kDeadline.count())};
    args.insert(args.end(), names.begin(), names.end());
    auto waited = svctl(args);
    EXPECT_EQ(waited.exit_code, 0) << waited.err << "\nsvinit:\n" << err();
  }

  pid_t wait_new_pid(const std::string& name, pid_t old_pid) {
    return wait_for_new_pid([&] { return status(name); }, name, old_pid, [&] { return err(); });
  }

 private:
  std::vector<std::string> environment(const std::map<std::string, std::string>& overrides) {
    std::map<std::string, std::string> env{
        {"SVKIT_SERVICES_DIR", sb_.path("services.d")},
        {"SVKIT_CONT_INIT_DIR", sb_.path("cont-init.d")},
        {"SVKIT_S6RC_DIRS", sb_.path("s6-rc.d")},
        {"SVKIT_SERVICES_GRACETIME", "10000"},
        {"SVKIT_KILL_GRACETIME", "5000"},
    };
    for (const auto& entry : sb_.env()) {
      const auto eq = entry.find('=');
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [name, value] : overrides) env[name] = value;
    std::vector<std::string> out;
    for (const auto& [name, value] : env) out.push_back(name + "=" + value);
    return out;
  }

  Sandbox& sb_;
  bool pid_namespace_;
  std::string err_path_, out_path_;
  pid_t unshare_pid_ = 0;
  pid_t init_pid_ = 0;
  int exit_code_ = -1;
};

// A service that writes SIGNAL into `file` when it gets it, then exits. It
// says it is ready (notification-fd 3) once the trap is set, so a test that
// waits for ready cannot signal it too early.
inline std::string traps(const std::string& signal, const std::string& file) {
  return "trap 'echo " + signal + " > " + file + "; kill $! 2>/dev/null; exit 0' " + signal +
         "\nsleep 100000 &\necho >&3\nwait";
}
inline const std::pair<const std::string, std::string> kReadyOnFd3{"notification-fd", "3"};

}  // namespace svkit::test
