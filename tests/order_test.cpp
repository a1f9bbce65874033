// Start order by readiness: dependencies.d, ready-check, and what stat says
// while a service waits. Real processes listening on real UNIX sockets; the
// test decides when the first one listens (a FIFO gate).
#include <gtest/gtest.h>
#include <signal.h>

#include <sys/wait.h>

#include "../lib/files.hpp"
#include "../lib/spawn.hpp"
#include "harness.hpp"

namespace svkit::test {
namespace {

// Listens on the UNIX socket argv[1] and accepts forever.
constexpr const char* kListener =
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "s.bind(sys.argv[1])\n"
    "s.listen(16)\n"
    "while True:\n"
    "    s.accept()[0].close()\n";

// Exits 0 when something listens on the UNIX socket argv[1].
std::string connects_to(const std::string& socket) {
  return "#!/bin/sh\nexec python3 -c 'import socket, sys; "
         "socket.socket(socket.AF_UNIX).connect(sys.argv[1])' " +
         socket + " 2>/dev/null\n";
}

std::map<std::string, std::string> listening_service(const std::string& socket,
                                                     std::vector<std::string> dependencies) {
  std::map<std::string, std::string> files{{"ready-check", connects_to(socket)},
                                           {"ready-check-interval", "20"}};
  for (const auto& dep : dependencies) files["dependencies.d/" + dep] = "";
  return files;
}

TEST(Order, AChainStartsByReadinessAndADependencysDeathRestartsNoOne) {
  Sandbox sb;
  Gate db_listens(sb, "db-listens");
  sb.write("listen.py", kListener);
  const std::string order = sb.path("order");
  auto run = [&](const std::string& name, const std::string& before) {
    return "echo " + name + " >> " + order + "\n" + before + "exec python3 " +
           sb.path("listen.py") + " " + sb.path(name + ".sock");
  };
  auto fresh_socket = [&](const std::string& name) {
    return "rm -f " + sb.path(name + ".sock") + "\n";
  };
  sb.add_service("db", run("db", fresh_socket("db") + "read x < " + db_listens.path() + "\n"),
                 listening_service(sb.path("db.sock"), {}));
  sb.add_service("api", run("api", fresh_socket("api")),
                 listening_service(sb.path("api.sock"), {"db"}));
  sb.add_service("web", run("web", fresh_socket("web")),
                 listening_service(sb.path("web.sock"), {"api"}));
  sb.start_svscan();
  sb.wait("up", "db");
  eventually(
      [&] {
        return sb.svctl({"stat", "api"}).out.find("waiting for db (not ready)") !=
                   std::string::npos &&
               sb.svctl({"stat", "web"}).out.find("waiting for api (down)") != std::string::npos;
      },
      "stat to show api and web waiting", [&] { return sb.svctl({"stat"}).out; });
  EXPECT_EQ(read_text(order), "db\n") << "nothing may start before db is ready";

  db_listens.release();
  sb.wait("ready", "web");
  EXPECT_EQ(read_text(order), "db\napi\nweb\n");
  const pid_t api = sb.status("api")->pid, web = sb.status("web")->pid;

  const pid_t db = sb.status("db")->pid;
  ASSERT_EQ(::kill(db, SIGKILL), 0);
  sb.wait_new_pid("db", db);
  EXPECT_EQ(sb.status("api")->pid, api) << "a dependency's death restarts no one";
  EXPECT_EQ(sb.status("web")->pid, web);
  eventually([&] { return read_text(order) == "db\napi\nweb\ndb\n"; }, "db's second start only",
             [&] { return read_text(order); });
}

TEST(Order, ACycleAndAMissingDependencyAreOneLineEachAndTheOthersStart) {
  Sandbox sb;
  sb.add_service("a", "exec sleep 100000", {{"dependencies.d/b", ""}});
  sb.add_service("b", "exec sleep 100000", {{"dependencies.d/a", ""}});
  sb.add_service("c", "exec sleep 100000", {{"dependencies.d/nosuch", ""}});
  sb.add_service("d", "exec sleep 100000", {{"dependencies.d/e", ""}});
  sb.add_service("e", "exec sleep 100000");
  sb.start_svscan();
  sb.wait("up", "d");
  for (auto name : {"a", "b", "c"}) {
    eventually([&] { return sb.status(name) && !sb.status(name)->errors.empty(); },
               std::string(name) + "'s error line", [&] { return sb.describe(name); });
  }
  EXPECT_EQ(sb.status("a")->errors,
            std::vector<std::string>{"dependencies: cycle: a -> b -> a; not started"});
  EXPECT_EQ(sb.status("b")->errors,
            std::vector<std::string>{"dependencies: cycle: b -> a -> b; not started"});
  EXPECT_EQ(sb.status("c")->errors,
            std::vector<std::string>{"dependencies: nosuch is not a service in " + sb.scandir() +
                                     "; not started"});
  const std::string c = sb.svctl({"stat", "c"}).out;
  EXPECT_NE(c.find("c: down"), std::string::npos) << c;
  EXPECT_NE(c.find("waiting for nosuch (no such service)"), std::string::npos) << c;
  EXPECT_TRUE(sb.status("e")->state == RunState::up);

  // The missing service appears: c starts on that event.
  sb.add_service("nosuch", "exec sleep 100000");
  sb.wait("up", "c");
}

// s6-rc's oneshots: `up` (here one command line, run as words when execline
// is absent, else through execlineb) once, then up with no process; `down`
// when stopped; a failure blocks its dependents.
TEST(Oneshot, UpRunsOnceDependentsFollowAFailureBlocksThemAndDownUndoesIt) {
  Sandbox sb;
  const std::string done = sb.path("setup-done");
  sb.add_service(
      "setup", "exit 99",
      {{"type", "oneshot\n"}, {"up", "touch " + done + "\n"}, {"down", "rm " + done + "\n"}});
  sb.add_service(
      "app",
      "[ -e " + done + " ] && echo saw-setup > " + sb.path("app-saw") + "\nexec sleep 100000",
      {{"dependencies.d/setup", ""}});
  sb.add_service("broken", "exit 99", {{"type", "oneshot"}, {"up", "false"}});
  sb.add_service("blocked", "exec sleep 100000", {{"dependencies.d/broken", ""}});
  sb.start_svscan();
  sb.wait("ready", "app");
  // Ready means started here: the run script writes what it saw a moment later.
  eventually([&] { return !read_text(sb.path("app-saw")).empty(); }, "app's run to look",
             [&] { return sb.describe("app"); });
  EXPECT_EQ(read_text(sb.path("app-saw")), "saw-setup\n");
  auto setup = sb.status("setup");
  EXPECT_EQ(setup->state, RunState::up);
  EXPECT_EQ(setup->pid, 0);
  EXPECT_GT(setup->ready_since_ms, 0);
  EXPECT_NE(sb.svctl({"stat", "setup"}).out.find("setup: up (oneshot done)"), std::string::npos);
  eventually([&] { return sb.status("broken") && sb.status("broken")->state == RunState::failed; },
             "broken to fail", [&] { return sb.describe("broken"); });
  EXPECT_EQ(sb.status("broken")->reason, "oneshot up exited 1");
  EXPECT_FALSE(sb.status("broken")->evidence.empty());
  eventually(
      [&] {
        return sb.svctl({"stat", "blocked"}).out.find("waiting for broken (failed)") !=
               std::string::npos;
      },
      "blocked to wait for broken",
      [&] {
        return sb.svctl({"stat", "blocked"}).out;
      });
  EXPECT_EQ(sb.svctl({"down", "setup"}).exit_code, 0);
  sb.wait("down", "setup");
  EXPECT_NE(::access(done.c_str(), F_OK), 0) << "down did not run";
  EXPECT_EQ(sb.status("setup")->state, RunState::down);
}

TEST(ReadyCheck, ATimeoutIsAFailedStartUnderTheRestartPolicy) {
  Sandbox sb;
  sb.add_service("never", "trap 'exit 0' TERM\nsleep 100000 &\nwait",
                 {{"ready-check", "#!/bin/sh\nexit 1\n"},
                  {"ready-check-interval", "10"},
                  {"ready-check-timeout", "200"},
                  {"restart", "never"}});
  sb.start_svscan();
  eventually([&] { return sb.status("never") && sb.status("never")->want_by == WantBy::policy; },
             "the restart policy to end it", [&] { return sb.describe("never"); });
  auto s = sb.status("never");
  EXPECT_EQ(s->state, RunState::down);
  EXPECT_EQ(s->reason,
            "not ready within 200 ms (ready-check), then exited 0; restart policy is never");
  ASSERT_FALSE(s->evidence.empty());
  EXPECT_NE(s->evidence.find("-start-failed.log"), std::string::npos) << s->evidence;
}

// A service that notes its name in `file` when it gets SIGTERM, then exits
// (after reading a line from `gate`, when given); ready once its handler is
// in place. One process, no helper a group signal could miss.
std::string notes_term(const std::string& name, const std::string& file,
                       const std::string& gate = "") {
  return "exec python3 -c '\n"
         "import os, signal, sys\n"
         "def stop(*_):\n"
         "    open(sys.argv[2], \"a\").write(sys.argv[1] + \"\\n\")\n"
         "    if sys.argv[3]: open(sys.argv[3]).readline()\n"
         "    os._exit(0)\n"
         "signal.signal(signal.SIGTERM, stop)\n"
         "os.write(3, b\"\\n\")\n"
         "while True: signal.pause()\n"
         "' " +
         name + " " + file + " \"" + gate + "\"";
}

TEST(Shutdown, ServicesStopInReverseDependencyOrder) {
  Sandbox sb;
  const std::string stopped = sb.path("stopped");
  sb.add_service("db", notes_term("db", stopped), {{"notification-fd", "3"}});
  sb.add_service("api", notes_term("api", stopped),
                 {{"notification-fd", "3"}, {"dependencies.d/db", ""}});
  sb.add_service("web", notes_term("web", stopped),
                 {{"notification-fd", "3"}, {"dependencies.d/api", ""}});
  sb.add_service("cache", notes_term("cache", stopped), {{"notification-fd", "3"}});
  sb.start_svscan();
  EXPECT_EQ(sb.svctl({"wait", "ready", "-t", "20000"}).exit_code, 0);
  EXPECT_EQ(sb.stop_svscan(), 0);
  std::string order = read_text(stopped);
  // cache depends on nothing and nothing on it: it stops at once, in any place.
  order.erase(order.find("cache\n"), 6);
  EXPECT_EQ(order, "web\napi\ndb\n");
}

TEST(Shutdown, ASecondStopRequestSkipsTheOrder) {
  Sandbox sb;
  Gate web_exits(sb, "web-exits");
  const std::string stopped = sb.path("stopped");
  sb.add_service("db", notes_term("db", stopped), {{"notification-fd", "3"}});
  sb.add_service("web", notes_term("web", stopped, web_exits.path()),
                 {{"notification-fd", "3"}, {"dependencies.d/db", ""}});
  sb.start_svscan();
  EXPECT_EQ(sb.svctl({"wait", "ready", "-t", "20000"}).exit_code, 0);
  ASSERT_EQ(::kill(sb.svscan_pid(), SIGTERM), 0);
  eventually([&] { return read_text(stopped) == "web\n"; }, "web to get SIGTERM");
  EXPECT_EQ(sb.status("db")->state, RunState::up) << "db waits for web";
  ASSERT_EQ(::kill(sb.svscan_pid(), SIGTERM), 0);
  eventually([&] { return read_text(stopped) == "web\ndb\n"; }, "db to get SIGTERM at once",
             [&] { return read_text(stopped); });
  web_exits.release();
  EXPECT_EQ(sb.stop_svscan(), 0);
}

TEST(Wait, NoNameMeansEveryServiceWantedUpAndATimeoutNamesWhoWasNotThere) {
  Sandbox sb;
  Gate b_ready(sb, "b-ready");
  sb.add_service("a", "exec sleep 100000");
  sb.add_service("b", "read x < " + b_ready.path() + "\necho >&3\nexec sleep 100000",
                 {{"notification-fd", "3"}});
  sb.add_service("c", "exec sleep 100000", {{"down", ""}});
  sb.start_svscan();
  sb.wait("up", "b");
  auto timed_out = sb.svctl({"wait", "ready", "-t", "100"});
  EXPECT_EQ(timed_out.exit_code, 3);
  EXPECT_EQ(timed_out.err, "svctl: timed out after 100 ms waiting for ready: b\n");
  auto down = sb.svctl({"wait", "down", "-t", "100"});
  EXPECT_EQ(down.exit_code, 3);
  EXPECT_EQ(down.err, "svctl: timed out after 100 ms waiting for down: a, b\n");
  b_ready.release();
  auto ready = sb.svctl({"wait", "ready", "-t", "20000"});
  EXPECT_EQ(ready.exit_code, 0) << ready.err;
}

// svctl run in the background, for a command that must block.
class Background {
 public:
  Background(const Sandbox& sb, const std::vector<std::string>& args) {
    std::vector<std::string> argv{program_path("svctl")};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn({.argv = argv, .extra_env = sb.env(), .fds = {{0, -1}}}).pid;
    EXPECT_GT(pid_, 0);
  }
  ~Background() {
    if (pid_ > 0 && code_ < 0) {
      ::kill(pid_, SIGKILL);
      wait_child(pid_);
    }
  }
  bool still_running() {
    int ws = 0;
    return ::waitpid(pid_, &ws, WNOHANG) == 0;
  }
  int wait() { return code_ = wait_child(pid_); }

 private:
  pid_t pid_ = 0;
  int code_ = -1;
};

TEST(Wait, RestartAndUpWithWWaitForTheNewInstancesReadinessNeverTheOldOne) {
  Sandbox sb;
  Gate ready(sb, "ready");
  sb.add_service("svc", "read x < " + ready.path() + "\necho >&3\nexec sleep 100000",
                 {{"notification-fd", "3"}, {"restart-min-interval", "0"}});
  sb.start_svscan();
  ready.release();
  sb.wait("ready", "svc");
  const pid_t old = sb.status("svc")->pid;

  // The old instance is ready: -w must not answer on it.
  auto quick = sb.svctl({"restart", "-w", "-t", "300", "svc"});
  EXPECT_EQ(quick.exit_code, 3) << quick.err;
  const pid_t second = sb.wait_new_pid("svc", old);

  Background restart(sb, {"restart", "-w", "-t", "20000", "svc"});
  const pid_t third = sb.wait_new_pid("svc", second);
  EXPECT_TRUE(restart.still_running()) << "answered before the new instance was ready";
  ready.release();
  EXPECT_EQ(restart.wait(), 0);
  EXPECT_EQ(sb.status("svc")->pid, third);
  EXPECT_GT(sb.status("svc")->ready_since_ms, 0);

  EXPECT_EQ(sb.svctl({"down", "svc"}).exit_code, 0);
  sb.wait("down", "svc");
  Background up(sb, {"up", "-w", "-t", "20000", "svc"});
  sb.wait("up", "svc");
  EXPECT_TRUE(up.still_running()) << "answered before the new instance was ready";
  ready.release();
  EXPECT_EQ(up.wait(), 0);
  EXPECT_EQ(sb.svctl({"up", "-w", "-t", "abc", "svc"}).exit_code, 2);
}

}  // namespace
}  // namespace svkit::test
