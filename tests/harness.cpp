#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <filesystem>
#include <thread>

#include "../lib/clock.hpp"
#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/proc.hpp"
#include "../lib/spawn.hpp"

namespace svkit::test {

std::string program_path(const std::string& program) {
  if (program == "supervise") return SVKIT_TEST_SUPERVISE;
  if (program == "svscan") return SVKIT_TEST_SVSCAN;
  if (program == "svctl") return SVKIT_TEST_SVCTL;
  if (program == "reconcile") return SVKIT_TEST_RECONCILE;
  ADD_FAILURE() << "unknown program " << program;
  return {};
}

bool eventually(const std::function<bool()>& condition, const std::string& what_never_happened,
                const std::function<std::string()>& context, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  auto pause = std::chrono::milliseconds(1);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) {
      std::string detail;
      if (context) detail = context();
      ADD_FAILURE() << "never happened within " << deadline.count()
                    << " ms: " << what_never_happened << "\n"
                    << detail;
      return false;
    }
    std::this_thread::sleep_for(pause);  // a poll interval, not a synchronisation
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return true;
}

Sandbox::Sandbox() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "svkit-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  for (auto dir : {"/service", "/run", "/log", "/state", "/libexec"}) (void)make_dirs(root_ + dir);
  libexec_ = root_ + "/libexec";
  for (auto program : {"supervise", "svscan", "svctl", "reconcile"}) {
    std::filesystem::create_symlink(program_path(program), libexec_ + "/" + program);
  }
}

// Processes whose working directory is `root` or inside it: what a test left
// running (svscan and its supervise processes run in `root`, services in
// their folders).
static std::vector<pid_t> processes_inside(const std::string& root) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    const auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", ec).string();
    if (!ec && (cwd == root || cwd.starts_with(root + "/")) && !is_zombie(std::stoi(name))) {
      found.push_back(std::stoi(name));
    }
  }
  return found;
}

Sandbox::~Sandbox() {
  if (svscan_pid_ > 0) {
    ::kill(svscan_pid_, SIGTERM);
    if (wait_child(svscan_pid_) < 0) {
      ::kill(-svscan_pid_, SIGKILL);
      wait_child(svscan_pid_);
    }
  }
  // Every process a test started must be gone with svscan: a leak fails the
  // test. A service's helper that got its group's signal may still be dying
  // on a busy machine: it has a moment (an event with a deadline, not a sleep).
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!processes_inside(root_).empty() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a poll interval
  }
  for (pid_t pid : processes_inside(root_)) {
    ADD_FAILURE() << "process " << pid << " ("
                  << read_text("/proc/" + std::to_string(pid) + "/comm")
                  << ") outlived its test in " << root_
                  << "; /proc/PID/stat: " << read_text("/proc/" + std::to_string(pid) + "/stat");
    ::kill(pid, SIGKILL);
  }
  // A leaked supervise may have started its service again meanwhile: no
  // process of the test outlives it (nor holds the test's output open).
  for (int pass = 0; pass < 3; ++pass) {
    for (pid_t pid : processes_inside(root_)) ::kill(pid, SIGKILL);
  }
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::vector<std::string> Sandbox::env() const {
  return {"SVKIT_SCANDIR=" + scandir(), "SVKIT_RUNDIR=" + rundir(), "SVKIT_LOG_DIR=" + log_dir(),
          "SVKIT_STATE_DIR=" + state_dir(), "SVKIT_LIBEXEC=" + libexec_};
}

void Sandbox::write(const std::string& path, const std::string& content, bool executable) {
  const std::string full = path.front() == '/' ? path : root_ + "/" + path;
  ASSERT_FALSE(make_dirs(std::filesystem::path(full).parent_path().string()));
  ASSERT_FALSE(write_file_atomic(full, content, Durability::runtime));
  if (executable) ::chmod(full.c_str(), 0755);
}

void Sandbox::add_service(const std::string& name, const std::string& run_body,
                          const std::map<std::string, std::string>& files) {
  // Built aside and renamed in, so svscan never sees a half-made service.
  const std::string staging = scandir() + "/." + name;
  make_dirs(staging);
  write(staging + "/run", "#!/bin/sh\n" + run_body + "\n", true);
  for (const auto& [file, content] : files) {
    write(staging + "/" + file, content,
          file == "finish" || file == "log/run" || file == "ready-check");
  }
  ASSERT_EQ(::rename(staging.c_str(), service_dir(name).c_str()), 0) << name;
}

pid_t Sandbox::start_svscan(const std::vector<std::string>& extra_args,
                            const std::vector<std::string>& launcher) {
  SpawnRequest request{.argv = launcher, .extra_env = env(), .cwd = root_};
  request.argv.push_back(program_path("svscan"));
  request.argv.insert(request.argv.end(), extra_args.begin(), extra_args.end());
  request.argv.push_back(scandir());
  auto result = spawn(request);
  EXPECT_GT(result.pid, 0) << "cannot start svscan: " << std::strerror(result.error);
  svscan_pid_ = result.pid;
  return svscan_pid_;
}

int Sandbox::stop_svscan() {
  if (svscan_pid_ <= 0) return -1;
  ::kill(svscan_pid_, SIGTERM);
  // Bounded generously: 200 supervise processes of a sanitizer build take long to exit.
  int code = wait_child(svscan_pid_, kCommandDeadline);
  if (code >= 0) svscan_pid_ = 0;
  return code;
}

int wait_child(pid_t pid, std::chrono::milliseconds deadline) {
  int ws = 0;
  pid_t got = 0;
  eventually([&] { return (got = ::waitpid(pid, &ws, WNOHANG)) != 0; },
             "process " + std::to_string(pid) + " to exit", {}, deadline);
  if (got != pid) return -1;
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

CommandResult Sandbox::svctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{program_path("svctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

CommandResult Sandbox::run(const std::vector<std::string>& argv) const {
  Pipe out = make_pipe(true);
  Pipe err = make_pipe(true);
  SpawnRequest request{.argv = argv,
                       .extra_env = env(),
                       .cwd = root_,
                       .fds = {{0, -1}, {1, out.write.get()}, {2, err.write.get()}}};
  CommandResult result;
  auto spawned = spawn(request);
  if (spawned.pid < 0) {
    result.err = std::string("cannot start: ") + std::strerror(spawned.error);
    return result;
  }
  out.write.reset();
  err.write.reset();
  pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  // A bound for a command that has its own (svctl wait -t): generous, so a
  // slow sanitizer build is not cut short.
  const int64_t end = monotonic_ms() + kCommandDeadline.count();
  while (open_count > 0 && monotonic_ms() < end) {
    ::poll(fds, 2, 1000);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, size_t(n));
      } else if (n == 0) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  result.exit_code = wait_child(spawned.pid, kCommandDeadline);
  return result;
}

std::optional<Status> status_at(const std::string& service_dir) {
  auto status = read_status(service_dir);
  if (!status) return std::nullopt;
  return *status;
}

std::optional<Status> Sandbox::status(const std::string& name) const {
  return status_at(service_dir(name));
}

std::string Sandbox::describe(const std::string& name) const {
  auto stat = svctl({"stat", name});
  std::string log = read_text(log_dir() + "/" + name + "/current");
  if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
  return "svctl stat: " + stat.out + stat.err + "service log:\n" + log;
}

void Sandbox::wait(const std::string& condition, const std::string& name) const {
  auto result = svctl({"wait", condition, "-t", std::to_string(kDeadline.count()), name});
  EXPECT_EQ(result.exit_code, 0) << name << " never became " << condition << ": " << result.err
                                 << "\n"
                                 << describe(name);
}

pid_t wait_for_new_pid(const std::function<std::optional<Status>()>& read_status,
                       const std::string& name, pid_t old_pid,
                       const std::function<std::string()>& context) {
  pid_t pid = 0;
  eventually(
      [&] {
        auto s = read_status();
        pid = s && s->state == RunState::up ? s->pid : 0;
        return pid > 0 && pid != old_pid;
      },
      name + " up with a pid other than " + std::to_string(old_pid), context);
  return pid;
}

pid_t Sandbox::wait_new_pid(const std::string& name, pid_t old_pid) const {
  return wait_for_new_pid([&] { return status(name); }, name, old_pid,
                          [&] { return describe(name); });
}

Gate::Gate(const Sandbox& sb, const std::string& name) : path_(sb.path(name + ".fifo")) {
  EXPECT_EQ(::mkfifo(path_.c_str(), 0600), 0) << path_ << ": " << std::strerror(errno);
}

void Gate::release() {
  UniqueFd fd;
  eventually(
      [&] {
        fd = UniqueFd(::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
        return static_cast<bool>(fd);
      },
      "a reader on " + path_);
  ASSERT_EQ(::write(fd.get(), "go\n", 3), 3);
}

bool process_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 && !is_zombie(pid);
}

std::string read_text(const std::string& path) {
  auto text = read_small_file(path, size_t(1) << 30);
  return text ? *text : std::string();
}

}  // namespace svkit::test
