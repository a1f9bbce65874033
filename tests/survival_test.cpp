// A supervision tree that survives its own deaths: a killed supervise or
// svscan costs no second instance, no lost line and no leftover process; a
// flood of control bytes starves nothing; no file svkit reads can hang it; any
// name survives; a profile never leads out of the state dir.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sched.h>
#include <filesystem>
#include <fstream>

#include "../lib/files.hpp"
#include "../lib/spawn.hpp"
#include "../state/profile_state.hpp"
#include "harness.hpp"

namespace svkit::test {
namespace {

namespace fs = std::filesystem;

// One line on stdout per line on the `tick` FIFO; the process stays the same.
// Ready (notification-fd 5) once the FIFO is open.
std::string ticking_service(const std::string& tick) {
  return "exec 3<> " + tick +
         "\n"
         "echo >&5\n"
         "while read -r t <&3; do echo \"tick $t\"; done";
}
const std::pair<const std::string, std::string> kReadyOnFd5{"notification-fd", "5"};

void tick(const std::string& fifo, const std::string& word) {
  int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0) << "no reader on " << fifo;
  const std::string line = word + "\n";
  ASSERT_EQ(::write(fd, line.data(), line.size()), ssize_t(line.size()));
  ::close(fd);
}

pid_t supervise_of(const Sandbox& sb, const std::string& name) {
  const std::string text = read_text(sb.service_dir(name) + "/supervise/lock");
  return text.empty() ? 0 : std::stoi(text);
}

// Processes that are an instance of the service: session leaders working in its folder.
std::vector<pid_t> instances_of(const Sandbox& sb, const std::string& name) {
  std::vector<pid_t> found;
  std::error_code ec;
  const auto folder = fs::canonical(sb.service_dir(name), ec);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string id = entry.path().filename().string();
    if (id.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(id);
    if (fs::read_symlink(entry.path() / "cwd", ec) == folder && !ec && session_of(pid) == pid &&
        !is_zombie(pid)) {
      found.push_back(pid);
    }
  }
  return found;
}

void wait_for_log_line(const Sandbox& sb, const std::string& name, const std::string& line) {
  const std::string log = sb.log_dir() + "/" + name + "/current";
  eventually([&] { return read_text(log).find(line) != std::string::npos; },
             "\"" + line + "\" in " + log, [&] { return read_text(log); });
}

TEST(Adoption, AKilledSuperviseIsReplacedAndTheRunningInstanceAdopted) {
  Sandbox sb;
  const std::string fifo = sb.path("tick");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  sb.add_service("svc", ticking_service(fifo), {{"restart-min-interval", "0"}, kReadyOnFd5});
  sb.start_svscan();
  sb.wait("ready", "svc");
  const pid_t run = sb.status("svc")->pid;
  tick(fifo, "one");
  wait_for_log_line(sb, "svc", "tick one");

  const pid_t first = supervise_of(sb, "svc");
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  eventually([&] { return supervise_of(sb, "svc") != first && supervise_of(sb, "svc") > 0; },
             "a new supervise for svc", [&] { return sb.describe("svc"); });
  sb.wait("up", "svc");
  EXPECT_EQ(sb.status("svc")->pid, run) << "the running instance was not adopted";
  EXPECT_EQ(instances_of(sb, "svc"), std::vector<pid_t>{run}) << "two instances";
  // Its output still reaches the log: the pipe outlived the supervise.
  tick(fifo, "two");
  wait_for_log_line(sb, "svc", "tick two");

  // Its death is seen, with the status svscan reaped.
  ASSERT_EQ(::kill(run, SIGKILL), 0);
  const pid_t next = sb.wait_new_pid("svc", run);
  auto s = sb.status("svc");
  ASSERT_TRUE(s->last_exit);
  EXPECT_EQ(s->last_exit->signal, SIGKILL) << sb.describe("svc");
  EXPECT_EQ(instances_of(sb, "svc"), std::vector<pid_t>{next});
  EXPECT_EQ(sb.stop_svscan(), 0);
  EXPECT_TRUE(instances_of(sb, "svc").empty());
}

TEST(Adoption, AKilledSvscanIsRestartedAndTakesItsSupervisorsBack) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);  // the test is the init here
  Sandbox sb;
  const std::string fifo = sb.path("tick");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string logged_fifo = sb.path("logged-tick");
  ASSERT_EQ(::mkfifo(logged_fifo.c_str(), 0600), 0);
  sb.add_service("svc", ticking_service(fifo), {kReadyOnFd5});
  sb.add_service("logged", ticking_service(logged_fifo),
                 {kReadyOnFd5, {"log/run", "#!/bin/sh\nexec cat\n"}});
  sb.start_svscan();
  for (auto name : {"svc", "logged", "logged/log"}) sb.wait("ready", name);
  const pid_t run = sb.status("svc")->pid;
  const pid_t supervise = supervise_of(sb, "svc");

  ASSERT_EQ(::kill(sb.svscan_pid(), SIGKILL), 0);
  ASSERT_EQ(sb.stop_svscan(), 128 + SIGKILL);
  const std::string err = sb.path("svscan2.err");
  UniqueFd err_fd(::open(err.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  auto second = spawn({.argv = {program_path("svscan"), sb.scandir()},
                       .extra_env = sb.env(),
                       .cwd = sb.root(),
                       .fds = {{2, err_fd.get()}}});
  ASSERT_GT(second.pid, 0);
  eventually(
      [&] {
        return read_text(err).find("took back the running supervise " +
                                   std::to_string(supervise)) != std::string::npos;
      },
      "the new svscan to take svc's supervise back", [&] { return read_text(err); });
  EXPECT_EQ(supervise_of(sb, "svc"), supervise);
  EXPECT_EQ(sb.status("svc")->pid, run);
  EXPECT_EQ(read_text(err).find("already supervised"), std::string::npos) << read_text(err);
  tick(fifo, "after");
  wait_for_log_line(sb, "svc", "tick after");
  EXPECT_EQ(sb.status("logged")->state, RunState::up);
  // The logger's supervise dies now: the one the new svscan starts reads the
  // same pipe the service still writes into.
  const pid_t logger_supervise = supervise_of(sb, "logged/log");
  ASSERT_EQ(::kill(logger_supervise, SIGKILL), 0);
  eventually(
      [&] {
        const pid_t now = supervise_of(sb, "logged/log");
        return now > 0 && now != logger_supervise;
      },
      "a new supervise for logged/log", [&] { return read_text(err); });
  tick(logged_fifo, "through");
  wait_for_log_line(sb, "logged/log", "tick through");
  // The logger itself restarts now: its stdin is the pipe the new svscan
  // reopened, which must block as a pipe does (a non-blocking one made the new
  // `cat` die of EAGAIN as soon as the pipe was empty).
  const pid_t cat = sb.status("logged/log")->pid;
  ASSERT_EQ(::kill(cat, SIGKILL), 0);
  sb.wait_new_pid("logged/log", cat);
  tick(logged_fifo, "after the logger's restart");
  wait_for_log_line(sb, "logged/log", "tick after the logger's restart");
  EXPECT_EQ(sb.status("logged/log")->restarts, 1u) << "the new logger died again";

  // Its shutdown stops every supervise, the ones it took back too.
  ::kill(second.pid, SIGTERM);
  EXPECT_EQ(wait_child(second.pid), 0) << read_text(err);
  eventually([&] { return !process_alive(supervise) && !process_alive(run); },
             "svc's supervise and run to be gone");
  // The adopted supervise processes were the test's orphans: reap them.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// A flood of junk on the control FIFO: supervise handles a bounded amount per
// loop turn, so a killed service is back while the flood still goes on.
TEST(Starvation, AControlFloodCannotDelayARestart) {
  Sandbox sb;
  sb.add_service("svc", "exec sleep 100000", {{"restart-min-interval", "0"}});
  sb.start_svscan();
  sb.wait("up", "svc");
  const pid_t first = sb.status("svc")->pid;
  const std::string control = sb.service_dir("svc") + "/supervise/control";
  // Junk without end, written as fast as supervise reads it: a supervise that
  // read until the FIFO is empty would never see the death.
  UniqueFd fifo(::open(control.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(fifo);
  auto flood = spawn({.argv = {"/usr/bin/yes", "Z"}, .fds = {{1, fifo.get()}}});
  ASSERT_GT(flood.pid, 0);
  eventually([&] { return !sb.status("svc")->errors.empty(); }, "the flood to reach supervise");
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  sb.wait_new_pid("svc", first);
  EXPECT_EQ(::waitpid(flood.pid, nullptr, WNOHANG), 0) << "the flood was over before the restart";
  ::kill(flood.pid, SIGKILL);
  wait_child(flood.pid);
  // Repeated errors are said once a second, not per byte.
  const auto errors = sb.status("svc")->errors;
  ASSERT_FALSE(errors.empty());
  EXPECT_LE(errors.size(), 8u);
  EXPECT_NE(errors.back().find("unknown command bytes ignored"), std::string::npos);
}

TEST(NeverHung, FilesThatAreNotRegularFilesAreOneErrorEach) {
  Sandbox sb;
  sb.add_service("svc", "exec sleep 100000", {{"halt-codes", std::string(5000, '7') + "\n"}});
  ASSERT_EQ(::mkfifo((sb.service_dir("svc") + "/timeout-kill").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", (sb.service_dir("svc") + "/timeout-finish").c_str()), 0);
  ASSERT_EQ(::mkdir((sb.service_dir("svc") + "/restart").c_str(), 0755), 0);
  sb.start_svscan();
  sb.wait("up", "svc");
  std::string all;
  const auto status = sb.status("svc");
  for (const auto& e : status->errors) all += e + "\n";
  EXPECT_NE(all.find("timeout-kill: is a FIFO, not a regular file; default kept"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("timeout-finish: is a device, not a regular file; default kept"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("restart: is a folder, not a regular file; default kept"), std::string::npos)
      << all;
  EXPECT_NE(all.find("halt-codes: larger than 4096 bytes; not read; default kept"),
            std::string::npos)
      << all;
  EXPECT_LT(read_text(status_path(sb.service_dir("svc"))).size(), 4096u);
}

TEST(NeverHung, AStateFileThatIsAFifoHangsNothing) {
  Sandbox sb;
  const std::string profile = sb.state_dir() + "/profiles/job";
  sb.write(profile + "/service/run", "#!/bin/sh\nexec sleep 100000\n", true);
  ASSERT_EQ(::mkfifo((profile + "/state.json").c_str(), 0600), 0);
  auto reconciled = sb.run({program_path("reconcile")});
  EXPECT_EQ(reconciled.exit_code, 0) << reconciled.err;
  EXPECT_NE(reconciled.out.find("profile=job prior_state=corrupt action=registered"),
            std::string::npos)
      << reconciled.out;
  sb.start_svscan();
  eventually([&] { return sb.status("job").has_value(); }, "job supervised");
  auto up = sb.svctl({"up", "job"});
  EXPECT_EQ(up.exit_code, 0) << up.err;  // the FIFO is replaced by a real file
  sb.wait("up", "job");
  EXPECT_TRUE(state::read_profile_state(profile + "/state.json").state.want_up);
}

TEST(AnyName, ANameThatIsNotUtf8IsCarriedSafelyOrRefused) {
  Sandbox sb;
  const std::string bad = "caf\xff";
  sb.add_service(bad, "exec sleep 100000");
  sb.add_service("fine", "exec sleep 100000");
  sb.start_svscan();
  sb.wait("up", "fine");
  eventually([&] { return sb.status(bad).has_value(); }, "the badly named service's status");
  EXPECT_EQ(sb.status(bad)->state, RunState::up);
  auto json = sb.svctl({"stat", "--json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  auto parsed = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << json.out;
  EXPECT_EQ(parsed.size(), 2u);
  auto added = sb.svctl({"add", "new\xfe", "--", "sleep", "1000"});
  EXPECT_EQ(added.exit_code, 2);
  EXPECT_EQ(std::count(added.err.begin(), added.err.end(), '\n'), 1) << added.err;
  EXPECT_FALSE(path_exists(sb.state_dir() + "/profiles/new\xfe"));
}

TEST(Containment, AProfileFolderLinkedOutOfTheStateDirIsRefusedEverywhere) {
  Sandbox sb;
  // A real profile folder outside the state dir, linked in.
  sb.write("outside/job/service/run", "#!/bin/sh\nexec sleep 100000\n", true);
  sb.write("outside/job/state.json",
           R"({"schema": 1, "want": "up", "updated_at": "2026-11-26T21:00:00Z", "by": "test"})");
  (void)make_dirs(sb.state_dir() + "/profiles");
  ASSERT_EQ(::symlink(sb.path("outside/job").c_str(), (sb.state_dir() + "/profiles/job").c_str()),
            0);
  const std::string before = read_text(sb.path("outside/job/state.json"));
  // The slot exists (made by hand): supervise must still not write through the link.
  sb.add_service("job", "exec sleep 100000");
  sb.start_svscan();
  sb.wait("up", "job");
  const auto errors = sb.status("job")->errors;
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.front().find("symlink leads out of the state dir"), std::string::npos);
  auto down = sb.svctl({"down", "job"});
  EXPECT_EQ(down.exit_code, 111);
  EXPECT_NE(down.err.find("symlink leads out of the state dir; nothing was changed"),
            std::string::npos)
      << down.err;
  EXPECT_EQ(sb.status("job")->state, RunState::up);
  auto reconciled = sb.run({program_path("reconcile")});
  EXPECT_NE(reconciled.out.find("error=\"symlink leads out of the state dir\""), std::string::npos)
      << reconciled.out;
  EXPECT_EQ(read_text(sb.path("outside/job/state.json")), before);
  EXPECT_FALSE(path_exists(sb.path("outside/job/pid")));
}

// The rest of this test process in a mount namespace of its own (root
// only), so that a small tmpfs can be put over a sandbox folder.
bool private_mounts() {
  static const bool done = ::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0 &&
                           ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
  return done;
}

// A tmpfs of `kib` KiB over `folder`, taken away at the end of the test.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& folder, int kib) : folder_(folder) {
    const std::string options = "size=" + std::to_string(kib) + "k,mode=0755";
    mounted_ = ::mount("tmpfs", folder.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(folder_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  // Fills it to the last byte.
  void fill() {
    UniqueFd fd(::open((folder_ + "/.filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    const std::string block(4096, 'x');
    while (::write(fd.get(), block.data(), block.size()) > 0) {
    }
    while (::write(fd.get(), block.data(), 1) > 0) {
    }
  }

 private:
  std::string folder_;
  bool mounted_ = false;
};

TEST(FullDisk, AFullStateDirChangesNothingAndSaysSo) {
  if (!private_mounts()) GTEST_SKIP() << "needs root for a mount namespace";
  Sandbox sb;
  SmallTmpfs state(sb.state_dir(), 256);
  ASSERT_TRUE(state.mounted());
  sb.start_svscan();
  ASSERT_EQ(sb.svctl({"add", "job", "--", "sleep", "100000"}).exit_code, 0);
  sb.wait("up", "job");
  const pid_t pid = sb.status("job")->pid;
  state.fill();
  auto down = sb.svctl({"down", "job"});
  EXPECT_EQ(down.exit_code, 111) << down.err;
  EXPECT_EQ(std::count(down.err.begin(), down.err.end(), '\n'), 1) << down.err;
  EXPECT_NE(down.err.find("want down not saved, so nothing was changed"), std::string::npos)
      << down.err;
  EXPECT_NE(down.err.find("No space left on device"), std::string::npos) << down.err;
  EXPECT_EQ(sb.status("job")->pid, pid);
  EXPECT_EQ(sb.status("job")->state, RunState::up);
  EXPECT_TRUE(state::read_profile_state(sb.state_dir() + "/profiles/job/state.json").state.want_up);
  EXPECT_FALSE(path_exists(sb.service_dir("job") + "/supervise/planned-stop"));
  EXPECT_EQ(sb.stop_svscan(), 0);
}

TEST(FullDisk, AFullScandirStillShowsTheStatusAndSaysItIsFull) {
  if (!private_mounts()) GTEST_SKIP() << "needs root for a mount namespace";
  Sandbox sb;
  SmallTmpfs scandir(sb.scandir(), 256);
  ASSERT_TRUE(scandir.mounted());
  sb.add_service("svc", "exec sleep 100000", {{"restart-min-interval", "0"}});
  sb.start_svscan();
  sb.wait("up", "svc");
  const pid_t first = sb.status("svc")->pid;
  scandir.fill();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  const pid_t second = sb.wait_new_pid("svc", first);
  EXPECT_GT(second, 0);
  auto stat = sb.svctl({"stat", "svc"});
  EXPECT_NE(stat.out.find("status written in place: the scandir is full"), std::string::npos)
      << stat.out;
  EXPECT_EQ(sb.stop_svscan(), 0);
}

}  // namespace
}  // namespace svkit::test
