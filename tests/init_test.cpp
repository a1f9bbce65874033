// svinit's stages, exit codes, console and shutdown, booted as a real PID 1
// (container.hpp).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/instance.hpp"
#include "../lib/json.hpp"
#include "../lib/spawn.hpp"
#include "../state/profile_state.hpp"
#include "../state/runtime_record.hpp"
#include "container.hpp"
#include "harness.hpp"

namespace svkit::test {
namespace {

// ---- console logs ---------------------------------------------------------------

// A service that writes `count` numbered lines as fast as it can, every
// seventh one 6,000 bytes long, then stays up.
std::string numbered_lines(const std::string& name, int count) {
  return "i=1; long=$(head -c 6000 /dev/zero | tr '\\0' L)\n"
         "while [ $i -le " +
         std::to_string(count) +
         " ]; do\n"
         "  if [ $((i % 7)) -eq 0 ]; then echo \"" +
         name + " line $i $long\"; else echo \"" + name +
         " line $i\"; fi\n"
         "  i=$((i + 1))\n"
         "done\n"
         "exec sleep 100000";
}

TEST(Console, EveryServiceLineReachesSvinitsStdoutWholeAndPrefixed) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  constexpr int kLines = 300;
  for (auto name : {"a", "b", "c"}) add_static_service(sb, name, numbered_lines(name, kLines));
  Container c(sb, {});
  const auto complete = [&] {
    const std::string out = c.out();
    return out.find("c line " + std::to_string(kLines)) != std::string::npos &&
           out.find("a line " + std::to_string(kLines)) != std::string::npos &&
           out.find("b line " + std::to_string(kLines)) != std::string::npos;
  };
  eventually(complete, "every service's last line on svinit's stdout",
             [&] { return c.out().substr(0, 2000); });
  // Reassemble each service's lines from the console: prefixed pieces, in order.
  std::map<std::string, std::vector<std::string>> lines;
  std::istringstream console(c.out());
  for (std::string line; std::getline(console, line);) {
    const auto bar = line.find(" |");
    ASSERT_NE(bar, std::string::npos) << "a line without a prefix: " << line.substr(0, 80);
    const std::string name = line.substr(0, bar);
    ASSERT_TRUE(name == "a" || name == "b" || name == "c") << line.substr(0, 80);
    const bool piece = line.compare(bar, 4, " |+ ") == 0;
    const std::string text = line.substr(bar + (piece ? 4 : 3));
    auto& mine = lines[name];
    if (!mine.empty() && mine.back().ends_with("\x01")) {
      mine.back().pop_back();
      mine.back() += text;
    } else {
      mine.push_back(text);
    }
    if (piece) mine.back() += '\x01';  // continued on the next line of this service
  }
  for (auto name : {"a", "b", "c"}) {
    ASSERT_EQ(lines[name].size(), size_t(kLines)) << name;
    for (int i = 1; i <= kLines; ++i) {
      std::string expected = std::string(name) + " line " + std::to_string(i);
      if (i % 7 == 0) expected += " " + std::string(6000, 'L');
      ASSERT_EQ(lines[name][size_t(i - 1)], expected) << name << " line " << i;
    }
  }
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

TEST(Console, JsonLinesParseOneByOne) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(sb, "web", "echo 'GET / 200'\necho 'oops \"quoted\"' >&2\nexec sleep 100000");
  Container c(sb, Container::Boot{.env = {{"SVKIT_CONSOLE_FORMAT", "json"}}});
  eventually([&] { return c.out().find("oops") != std::string::npos; }, "web's stderr line",
             [&] { return c.out(); });
  std::istringstream console(c.out());
  int seen = 0;
  for (std::string line; std::getline(console, line); ++seen) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["service"], "web");
    if (j["stream"] == "stderr") {
      EXPECT_EQ(j["line"], "oops \"quoted\"");
    } else {
      EXPECT_EQ(j["line"], "GET / 200");
    }
  }
  EXPECT_EQ(seen, 2);
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

// svinit's stdout is a pipe nobody reads: the service is not held up, the
// file log keeps every line, and what the console missed is counted, then said.
TEST(Console, ASlowConsoleDropsCopiesCountedNeverFileLines) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  constexpr int kLines = 20000;
  add_static_service(sb, "chatty",
                     "i=1; while [ $i -le " + std::to_string(kLines) +
                         " ]; do echo \"chatty line $i of many, padded to make it long enough\"; "
                         "i=$((i+1)); done\necho >&3\nexec sleep 100000",
                     {kReadyOnFd3, {"log-max-bytes", "100000000"}});
  Pipe console = make_pipe(true);
  Container c(sb, Container::Boot{.stdout_fd = console.write.get()});
  console.write.reset();
  c.wait_up({"chatty"}, "ready");  // it finished writing: nothing blocked it
  const std::string log = sb.log_dir() + "/chatty/current";
  eventually(
      [&] {
        const std::string text = read_text(log);
        return std::count(text.begin(), text.end(), '\n') == kLines;
      },
      "every line in the file log");
  // Now read the console: the copies that fit, then the notice.
  std::string shown;
  eventually(
      [&] {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(console.read.get(), buf, sizeof buf)) > 0) shown.append(buf, size_t(n));
        return shown.find("lines not shown here") != std::string::npos;
      },
      "the console notice of the dropped lines", [&] { return shown.substr(0, 300); });
  const auto status = c.status("chatty");
  ASSERT_TRUE(status);
  const size_t on_console = size_t(std::count(shown.begin(), shown.end(), '\n')) - 1;
  EXPECT_GT(status->console_dropped, 0u);
  EXPECT_EQ(on_console + status->console_dropped, size_t(kLines));
  EXPECT_NE(shown.find("chatty | [svkit: " + std::to_string(status->console_dropped) +
                       " lines not shown here"),
            std::string::npos);
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

// Kubernetes' runAsNonRoot + readOnlyRootFilesystem, with writable /run
// (here the run dir and the scandir): svinit runs as uid 1000 with a log dir
// it cannot write, says so once, and logs to the fallback.
TEST(Console, NonRootWithAReadOnlyLogDirBootsAndLogsToTheFallback) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  ASSERT_EQ(::chmod(sb.root().c_str(), 0755), 0);
  for (auto folder : {sb.rundir(), sb.scandir()}) ASSERT_EQ(::chown(folder.c_str(), 1000, 1000), 0);
  add_static_service(sb, "app", "echo 'hello from app'\nexit 3");
  const std::string readonly = sb.path("readonly");
  (void)make_dirs(readonly + "/log");
  // Its own, but on a read-only mount: the error is EROFS, not EACCES.
  ASSERT_EQ(::chown((readonly + "/log").c_str(), 1000, 1000), 0);
  Container c(
      sb,
      Container::Boot{
          .env = {{"SVKIT_LOG_DIR", readonly + "/log"}, {"SVKIT_STATE_DIR", readonly + "/state"}},
          .setup = "mount --bind " + readonly + " " + readonly + "\nmount -o remount,ro,bind " +
                   readonly,
          .prefix = {"/usr/bin/setpriv", "--reuid=1000", "--regid=1000", "--clear-groups"}});
  const std::string fallback = sb.rundir() + "/log/app";
  eventually([&] { return path_exists(fallback + "/evidence"); }, "evidence in the fallback",
             [&] { return c.err(); });
  EXPECT_NE(read_text(fallback + "/current").find("hello from app"), std::string::npos);
  EXPECT_EQ(lines_with(c.err(), "SVKIT_LOG_DIR " + readonly +
                                    "/log is not writable (Read-only "
                                    "file system): service logs and evidence go to " +
                                    sb.rundir() + "/log"),
            1u)
      << c.err();
  EXPECT_EQ(lines_with(c.err(), "SVKIT_STATE_DIR"), 1u) << c.err();
  EXPECT_NE(c.out().find("app | hello from app"), std::string::npos);
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

// ---- CMD waits for the services ----------------------------------------------------

TEST(CmdWait, CmdStartsOnlyOnceEveryServiceWantedUpIsReady) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  Gate db_ready(sb, "db-ready");
  add_static_service(sb, "db", "read x < " + db_ready.path() + "\necho >&3\nexec sleep 100000",
                     {kReadyOnFd3});
  add_static_service(sb, "idle", "exec sleep 100000", {{"down", ""}});
  const std::string started = sb.path("cmd-started");
  Container c(sb, {"/bin/sh", "-c", "echo yes > " + started});
  eventually(
      [&] { return c.err().find("CMD waits for 1 services to be ready") != std::string::npos; },
      "svinit to say CMD waits", [&] { return c.err(); });
  EXPECT_EQ(read_text(started), "") << "CMD started before db was ready";
  db_ready.release();
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_EQ(read_text(started), "yes\n");
  EXPECT_EQ(lines_with(c.err(), "stage 2: the services are ready after"), 1u) << c.err();
}

TEST(CmdWait, PastTheLimitTheContainerStopsWith124NamingWhoWasNotReady) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(sb, "db", "exec sleep 100000", {kReadyOnFd3});  // never ready
  add_static_service(sb, "web", "exec sleep 100000");
  const std::string log = sb.path("termination-log");
  Container c(sb, Container::Boot{.cmd = {"/bin/true"},
                                  .env = {{"SVKIT_CMD_WAIT_FOR_SERVICES_MAXTIME", "1000"},
                                          {"SVKIT_TERMINATION_LOG", log}}});
  EXPECT_EQ(c.wait(), 124) << c.err();
  // db for sure; web too when the machine was slow to start it.
  const std::string line = "services not ready after 1000 ms: db (";
  EXPECT_EQ(lines_with(c.err(), "svinit: error: " + line), 1u) << c.err();
  EXPECT_EQ(lines_with(c.err(), "; stopping the container"), 1u) << c.err();
  EXPECT_TRUE(read_text(log).starts_with("svinit: exit code 124: " + line)) << read_text(log);
}

// ---- s6-overlay v3 images -------------------------------------------------------------

// One s6-rc source definition under SANDBOX/s6-rc.d/NAME.
void s6rc(Sandbox& sb, const std::string& name, const std::map<std::string, std::string>& files) {
  for (const auto& [file, content] : files) {
    sb.write("s6-rc.d/" + name + "/" + file, content, file == "run" || file == "finish");
  }
}

// Written after s6-overlay's documentation: longruns with base in their
// dependencies, a oneshot whose `up` is one command line, a bundle inside the
// user bundle, a producer/consumer logger pair, user2, and a longrun in no
// bundle.
TEST(S6Overlay, AV3TreeBootsInDependencyOrderWithItsLoggerPipeline) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  const std::string order = sb.path("order"), web_log = sb.path("web.log");
  sb.write("scripts/init-db", "#!/bin/sh\necho init-db >> " + order + "\n", true);
  s6rc(sb, "init-db",
       {{"type", "oneshot\n"},
        {"up", sb.path("scripts/init-db") + "\n"},
        {"dependencies.d/base", ""}});
  s6rc(sb, "db",
       {{"type", "longrun\n"},
        {"run", "#!/bin/sh\necho db >> " + order + "\necho >&3\nexec sleep 100000\n"},
        {"notification-fd", "3\n"},
        {"dependencies.d/base", ""},
        {"dependencies.d/init-db", ""}});
  s6rc(sb, "web",
       {{"type", "longrun\n"},
        {"run", "#!/bin/sh\necho web >> " + order +
                    "\necho web says hello\necho >&3\nexec sleep 100000\n"},
        {"notification-fd", "3\n"},  // ready once its line is in `order`: late comes after
        {"producer-for", "web-log\n"},
        {"dependencies.d/base", ""},
        {"dependencies.d/db", ""}});
  s6rc(sb, "web-log",
       {{"type", "longrun\n"},
        {"run", "#!/bin/sh\nexec cat >> " + web_log + "\n"},
        {"consumer-for", "web\n"},
        {"pipeline-name", "web-pipeline\n"}});
  s6rc(sb, "app", {{"type", "bundle\n"}, {"contents.d/web", ""}, {"contents.d/web-log", ""}});
  s6rc(sb, "user", {{"type", "bundle\n"}, {"contents.d/app", ""}, {"contents.d/init-db", ""}});
  s6rc(sb, "late",
       {{"type", "longrun\n"},
        {"run", "#!/bin/sh\necho late >> " + order + "\nexec sleep 100000\n"},
        {"dependencies.d/base", ""}});
  s6rc(sb, "user2", {{"type", "bundle\n"}, {"contents.d/late", ""}});
  s6rc(sb, "spare", {{"type", "longrun\n"}, {"run", "#!/bin/sh\nexec sleep 100000\n"}});
  Container c(sb, Container::Boot{.env = {{"SVKIT_BEHAVIOUR_IF_STAGE2_FAILS", "2"}}});
  c.wait_up({"late"}, "ready");
  eventually([&] { return read_text(order).ends_with("late\n"); }, "late's run to start",
             [&] { return read_text(order); });
  EXPECT_EQ(read_text(order), "init-db\ndb\nweb\nlate\n") << c.err();
  eventually([&] { return read_text(web_log) == "web says hello\n"; },
             "web's line through its consumer", [&] { return read_text(web_log); });
  EXPECT_FALSE(is_directory(c.inside(sb.service_dir("web-log")))) << "the consumer is web/log";
  EXPECT_FALSE(is_directory(c.inside(sb.service_dir("app")))) << "a bundle is no service";
  auto spare = c.status("spare");
  ASSERT_TRUE(spare);
  EXPECT_EQ(spare->state, RunState::down) << "in no started bundle";
  EXPECT_EQ(lines_with(c.err(), "4 longruns, 1 oneshots, 3 bundles; 4 start"), 1u) << c.err();
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

TEST(S6Overlay, AFailingOneshotBlocksItsDependentsAndStopsTheBoot) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  const std::string started = sb.path("started");
  s6rc(sb, "setup", {{"type", "oneshot\n"}, {"up", "false\n"}});
  s6rc(sb, "app",
       {{"type", "longrun\n"},
        {"run", "#!/bin/sh\necho yes > " + started + "\nexec sleep 100000\n"},
        {"dependencies.d/setup", ""}});
  s6rc(sb, "user", {{"type", "bundle\n"}, {"contents.d/app", ""}});
  Container c(sb, {});
  EXPECT_EQ(c.wait(), 1) << c.err();
  EXPECT_EQ(lines_with(c.err(), "oneshot setup failed (exit code 1); stopping the container"), 1u)
      << c.err();
  EXPECT_EQ(read_text(started), "") << "app started without its oneshot";
}

// ---- exit codes ------------------------------------------------------------------

TEST(Svinit, ExitsWithCmdExitCode) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  Container c(sb, {"/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(c.wait(), 3) << c.err();
}

TEST(Svinit, CmdKilledBySignalGives128PlusSignal) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  Container c(sb, {"/bin/sh", "-c", "kill -9 $$"});
  EXPECT_EQ(c.wait(), 137) << c.err();
}

TEST(Svinit, SigtermStopsEveryServiceWithItsDownSignalBeforeTheGrace) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(sb, "a", traps("TERM", sb.path("a.got")), {kReadyOnFd3});
  add_static_service(sb, "b", traps("TERM", sb.path("b.got")), {kReadyOnFd3});
  add_static_service(sb, "c", traps("HUP", sb.path("c.got")),
                     {{"down-signal", "HUP"}, kReadyOnFd3});
  // A grace far beyond the wait below: stage 3 must end when the services do.
  Container c(sb, {}, {{"SVKIT_SERVICES_GRACETIME", "120000"}});
  c.wait_up({"a", "b", "c"}, "ready");
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(kDeadline), 0) << c.err();
  EXPECT_EQ(read_text(sb.path("a.got")), "TERM\n");
  EXPECT_EQ(read_text(sb.path("b.got")), "TERM\n");
  EXPECT_EQ(read_text(sb.path("c.got")), "HUP\n");
  EXPECT_EQ(lines_with(c.err(), "still running"), 0u) << c.err();
}

TEST(Svinit, ServiceIgnoringSigtermIsKilledAfterTheGrace) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  // timeout-kill 0: supervise never escalates, so only svinit's grace ends it.
  add_static_service(sb, "stubborn", "trap '' TERM\necho >&3\nexec sleep 100000",
                     {{"timeout-kill", "0"}, kReadyOnFd3});
  Container c(sb, {}, {{"SVKIT_SERVICES_GRACETIME", "500"}});
  c.wait_up({"stubborn"}, "ready");
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_GE(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(500));
  EXPECT_EQ(lines_with(c.err(), "services still running after 500 ms"), 1u) << c.err();
}

TEST(Svinit, SignalsAreForwardedToCmd) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  sb.write("cmd.sh",
           "#!/bin/sh\ntrap 'echo hup > " + sb.path("got") + "; exit 5' HUP\necho > " +
               sb.path("ready") + "\nsleep 100000 &\nwait\n",
           true);
  Container c(sb, {sb.path("cmd.sh")});
  eventually([&] { return path_exists(sb.path("ready")); }, "CMD started", [&] { return c.err(); });
  ASSERT_EQ(::kill(c.init_pid(), SIGHUP), 0);
  EXPECT_EQ(c.wait(), 5) << c.err();
  EXPECT_EQ(read_text(sb.path("got")), "hup\n");
}

TEST(Svinit, SigtermIsForwardedToCmdAndTheStopIsClean) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  sb.write("cmd.sh",
           "#!/bin/sh\ntrap 'echo term > " + sb.path("got") + "; exit 9' TERM\necho > " +
               sb.path("ready") + "\nsleep 100000 &\nwait\n",
           true);
  Container c(sb, {sb.path("cmd.sh")});
  eventually([&] { return path_exists(sb.path("ready")); }, "CMD started", [&] { return c.err(); });
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << "a stop asked for by signal exits 0\n" << c.err();
  EXPECT_EQ(read_text(sb.path("got")), "term\n");
}

// ---- essential services ------------------------------------------------------------

TEST(Svinit, EssentialServiceFailingForGoodStopsTheContainer) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(
      sb, "core", "exec sleep 100000",
      {{"essential", ""}, {"finish", "#!/bin/sh\nexit 125\n"}, {"restart-min-interval", "0"}});
  add_static_service(sb, "helper", "exec sleep 100000");
  Container c(sb, {});
  c.wait_up({"core", "helper"});
  EXPECT_EQ(c.svctl({"kill", "core"}).exit_code, 0);
  EXPECT_EQ(c.wait(), 137) << c.err();
  EXPECT_EQ(lines_with(c.err(), "essential service core is down for good (exit code 137)"), 1u)
      << c.err();
}

TEST(Svinit, EssentialServiceHaltingOnPurposePassesItsCodeOn) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  ASSERT_EQ(::mkfifo(sb.path("halt").c_str(), 0600), 0);
  add_static_service(sb, "node", "read x < " + sb.path("halt") + "\nexit 71",
                     {{"essential", ""}, {"halt-codes", "70 71 72"}});
  Container c(sb, {});
  c.wait_up({"node"});
  int fd = -1;
  ASSERT_TRUE(
      eventually([&] { return (fd = ::open(sb.path("halt").c_str(), O_WRONLY | O_NONBLOCK)) >= 0; },
                 "node waiting on its FIFO"));
  ASSERT_EQ(::write(fd, "x\n", 2), 2);
  ::close(fd);
  EXPECT_EQ(c.wait(), 71) << c.err();
}

TEST(Svinit, EssentialNowStopsTheContainerAtTheFirstExit) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(sb, "core", "exec sleep 100000",
                     {{"essential", "now\n"}, {"restart-min-interval", "0"}});
  Container c(sb, {});
  c.wait_up({"core"});
  EXPECT_EQ(c.svctl({"kill", "core"}).exit_code, 0);
  EXPECT_EQ(c.wait(), 137) << c.err();
}

TEST(Svinit, OrdinaryServiceIsRestartedAndTheContainerStaysUp) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(sb, "plain", "exec sleep 100000", {{"restart-min-interval", "0"}});
  Container c(sb, {});
  c.wait_up({"plain"});
  const pid_t first = c.status("plain")->pid;
  EXPECT_EQ(c.svctl({"kill", "plain"}).exit_code, 0);
  c.wait_new_pid("plain", first);
  EXPECT_TRUE(process_alive(c.init_pid())) << c.err();
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

// ---- reaping -------------------------------------------------------------------------

// svinit's children named `comm`, as host pids.
std::vector<pid_t> children_named(pid_t parent, const std::string& comm) {
  std::vector<pid_t> found;
  std::istringstream children(read_text("/proc/" + std::to_string(parent) + "/task/" +
                                        std::to_string(parent) + "/children"));
  for (pid_t pid; children >> pid;) {
    if (read_text("/proc/" + std::to_string(pid) + "/comm") == comm + "\n") found.push_back(pid);
  }
  return found;
}

TEST(Svinit, AKilledSvscanIsStartedAgainAndTheServicesStay) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_static_service(sb, "svc", "exec sleep 100000");
  Container c(sb, {});
  c.wait_up({"svc"});
  const pid_t service = c.status("svc")->pid;
  const auto first = children_named(c.init_pid(), "svscan");
  ASSERT_EQ(first.size(), 1u) << c.err();
  ASSERT_EQ(::kill(first[0], SIGKILL), 0);
  eventually(
      [&] {
        auto now = children_named(c.init_pid(), "svscan");
        return now.size() == 1 && now[0] != first[0];
      },
      "svinit to start svscan again", [&] { return c.err(); });
  EXPECT_NE(c.err().find("starting it again"), std::string::npos) << c.err();
  eventually([&] { return c.err().find("took back the running supervise") != std::string::npos; },
             "the new svscan to take svc's supervise back", [&] { return c.err(); });
  EXPECT_EQ(c.status("svc")->pid, service) << "the service was restarted";
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_EQ(c.err().find("already supervised"), std::string::npos) << c.err();
}

TEST(Svinit, OrphansAreReapedAndNoZombieStays) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  // Leaves an orphan (its parent shell exits at once) that writes its pid to
  // TAG.pid and ends when TAG.fifo is written.
  auto orphan = [&](const std::string& tag) {
    ::mkfifo(sb.path(tag + ".fifo").c_str(), 0600);
    return "sh -c 'sh -c \"echo \\$\\$ > " + sb.path(tag + ".pid") + "; exec cat " +
           sb.path(tag + ".fifo") + " > /dev/null\" &'\n";
  };
  // The service's orphan goes to svscan (a subreaper), CMD's to svinit.
  add_static_service(sb, "forker", orphan("svc") + "exec sleep 100000");
  // CMD releases each orphan, waits (bounded) until it is reaped, and reports
  // what it saw from inside the namespace.
  std::string script =
      "#!/bin/sh\n"
      "wait_file() { n=0; until [ -s \"$1\" ] || [ $n -ge 1000 ]; do sleep 0.01; n=$((n+1)); "
      "done; }\n"
      "release() {\n"
      "  wait_file \"$1.pid\"\n"
      "  [ -s \"$1.pid\" ] || { echo \"${1##*/}: never started\"; return; }\n"
      "  pid=$(cat \"$1.pid\"); echo go > \"$1.fifo\"\n"
      "  n=0; while kill -0 \"$pid\" 2>/dev/null && [ $n -lt 1000 ]; do sleep 0.01; "
      "n=$((n+1)); done\n"
      "  if kill -0 \"$pid\" 2>/dev/null; then echo \"${1##*/}: not reaped\"; "
      "else echo \"${1##*/}: reaped\"; fi\n"
      "}\n";
  script += orphan("cmd");
  script += "{\n";
  script += "  wait_file " + sb.path("cmd.pid") + "\n";
  script += "  echo \"orphan ppid=$(ps -o ppid= -p \"$(cat " + sb.path("cmd.pid") +
            ")\" | tr -d ' ')\"\n";
  script += "  release " + sb.path("cmd") + "\n";
  script += "  release " + sb.path("svc") + "\n";
  script += "  echo \"zombies=$(ps -o stat= -e | grep -c '^Z')\"\n";
  script += "} > " + sb.path("report") + "\n";
  sb.write("cmd.sh", script, true);
  Container c(sb, {sb.path("cmd.sh")});
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_EQ(read_text(sb.path("report")), "orphan ppid=1\ncmd: reaped\nsvc: reaped\nzombies=0\n")
      << c.err();
}

TEST(Svinit, AsAPlainProcessItReapsAndStopsItsWholeTree) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  // A daemon svinit failed to reap or stop would be re-parented here: no
  // other process could hide it.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  Sandbox sb;
  add_hook(sb, "10-daemon", "sleep 100000 > /dev/null 2>&1 &\necho $! > " + sb.path("daemon.pid"));
  add_static_service(sb, "svc", "exec sleep 100000");
  Container c(sb, {"/bin/sh", "-c", "exit 4"}, {}, false);
  EXPECT_EQ(c.wait(), 4) << c.err();
  const pid_t daemon = std::atoi(read_text(sb.path("daemon.pid")).c_str());
  ASSERT_GT(daemon, 0);
  EXPECT_NE(::kill(daemon, 0), 0) << "the hook's daemon outlived svinit, or was not reaped";
}

// ---- stage 1 -------------------------------------------------------------------------

TEST(Svinit, ScandirIsAFreshTmpfsWithTheStaticServicesCopiedIn) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  sb.write("service/stale/run", "#!/bin/sh\nexec sleep 100000\n", true);  // an earlier boot's slot
  add_static_service(sb, "web", "exec sleep 100000",
                     {{"timeout-kill", "2000\n"}, {"data/config", "port=80\n"}});
  ::chmod(sb.path("services.d/web/data/config").c_str(), 0640);
  Container c(sb, {});
  c.wait_up({"web"});
  struct statfs fs {};
  ASSERT_EQ(::statfs(c.inside(sb.scandir()).c_str(), &fs), 0);
  EXPECT_EQ(fs.f_type, TMPFS_MAGIC);
  EXPECT_FALSE(path_exists(c.inside(sb.service_dir("stale"))));
  EXPECT_FALSE(path_exists(c.inside(sb.scandir() + "/.web")));
  struct stat st {};
  ASSERT_EQ(::stat(c.inside(sb.service_dir("web") + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(::stat(c.inside(sb.service_dir("web") + "/data/config").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(read_text(c.inside(sb.service_dir("web") + "/timeout-kill")), "2000\n");
  const std::string id = read_text(sb.rundir() + "/instance");
  EXPECT_EQ(id.size(), 33u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), 32u) << id;
  EXPECT_TRUE(id.ends_with("\n")) << id;
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
  // The next boot gets another id.
  Container again(sb, {"/bin/true"});
  EXPECT_EQ(again.wait(), 0) << again.err();
  EXPECT_NE(read_text(sb.rundir() + "/instance"), id);
}

// ---- stage 2: hooks -----------------------------------------------------------------

// The boot a real image does: svinit's stage 1 makes the instance id,
// reconcile (a cont-init hook) turns the persisted profile into a slot, and
// supervise records the start — all three under the same instance id.
TEST(Svinit, ReconcileAsAHookBootsTheProfilesUnderSvinitsInstanceId) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_hook(sb, "10-reconcile", "exec \"$SVKIT_LIBEXEC/reconcile\"");
  const std::string profile = sb.state_dir() + "/profiles/coder";
  sb.write(profile + "/service/run", "#!/bin/sh\nexec sleep 100000\n", true);
  sb.write(profile + "/state.json",
           R"({"schema": 1, "want": "up", "updated_at": "2026-11-26T21:00:00Z", "by": "test"})");
  Container c(sb, {});
  c.wait_up({"coder"});
  const std::string instance = read_instance_id(sb.rundir());
  ASSERT_EQ(instance.size(), 32u) << c.err();
  EXPECT_NE(c.err().find("stage 1: instance " + instance), std::string::npos) << c.err();
  eventually([&] { return state::read_pid_record(profile).has_value(); }, "supervise's pid record");
  EXPECT_EQ(state::read_pid_record(profile)->instance, instance);
  auto state = state::read_profile_state(profile + "/state.json");
  ASSERT_TRUE(state.state.last) << state.error;
  EXPECT_EQ(state.state.last->instance, instance);
  EXPECT_NE(read_text(sb.state_dir() + "/logs/boot.log")
                .find("profile=coder prior_state=up "
                      "action=started"),
            std::string::npos);
  ASSERT_EQ(::kill(c.init_pid(), SIGTERM), 0);
  EXPECT_EQ(c.wait(), 0) << c.err();
}

TEST(Svinit, HooksRunInNameOrderAfterStage1AndBeforeCmd) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  const std::string order = sb.path("order");
  add_static_service(sb, "web", "exec sleep 100000");
  add_hook(sb, "30-c", "[ -x \"$SVKIT_SCANDIR/web/run\" ] && echo c >> " + order);
  add_hook(sb, "10-a",
           "echo a >> " + order + "\necho \"$SVKIT_CONT_INIT_DIR\" > " + sb.path("env"));
  add_hook(sb, "20-b", "echo b >> " + order);
  add_hook(sb, ".hidden", "echo hidden >> " + order);
  make_dirs(sb.path("cont-init.d/40-folder"));
  Container c(sb, {"/bin/sh", "-c", "echo cmd >> " + order});
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_EQ(read_text(order), "a\nb\nc\ncmd\n");
  EXPECT_EQ(read_text(sb.path("env")), sb.path("cont-init.d") + "\n");
}

// Hooks a, b (exits 7), c, a service and a CMD that leaves a mark.
void add_failing_boot(Sandbox& sb) {
  add_hook(sb, "10-a", "echo a >> " + sb.path("order"));
  add_hook(sb, "20-b", "echo b >> " + sb.path("order") + "\nexit 7");
  add_hook(sb, "30-c", "echo c >> " + sb.path("order"));
  add_static_service(sb, "web", "exec sleep 100000");
}

TEST(Svinit, FailingHookStopsTheBootByDefault) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_failing_boot(sb);
  Container c(sb, {"/bin/sh", "-c", "touch " + sb.path("cmd-ran")});
  EXPECT_EQ(c.wait(), 7) << c.err();
  EXPECT_EQ(read_text(sb.path("order")), "a\nb\n");
  EXPECT_FALSE(path_exists(sb.path("cmd-ran")));
  EXPECT_FALSE(path_exists(sb.rundir() + "/svscan-control")) << "svscan was started";
  EXPECT_EQ(lines_with(c.err(), "20-b exited 7: stopping the boot"), 1u) << c.err();
  EXPECT_EQ(lines_with(c.err(), "svinit: error:"), 1u) << c.err();
}

TEST(Svinit, FailingHookIsReportedAndTheBootGoesOnWithBehaviour1) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_failing_boot(sb);
  Container c(sb, {"/bin/sh", "-c", "touch " + sb.path("cmd-ran")},
              {{"SVKIT_BEHAVIOUR_IF_STAGE2_FAILS", "1"}});
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_EQ(read_text(sb.path("order")), "a\nb\nc\n");
  EXPECT_TRUE(path_exists(sb.path("cmd-ran")));
  EXPECT_EQ(lines_with(c.err(), "20-b exited 7; going on"), 1u) << c.err();
}

TEST(Svinit, FailingHookIsSilentWithBehaviour0) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_failing_boot(sb);
  Container c(sb, {"/bin/sh", "-c", "touch " + sb.path("cmd-ran")},
              {{"SVKIT_BEHAVIOUR_IF_STAGE2_FAILS", "0"}});
  EXPECT_EQ(c.wait(), 0) << c.err();
  EXPECT_EQ(read_text(sb.path("order")), "a\nb\nc\n");
  EXPECT_TRUE(path_exists(sb.path("cmd-ran")));
  EXPECT_EQ(lines_with(c.err(), "20-b"), 0u) << c.err();
}

// ---- bad input -----------------------------------------------------------------------

TEST(SvinitBadInput, NonExecutableHookIsOneClearLine) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  add_hook(sb, "10-a", "echo a >> " + sb.path("order"));
  add_hook(sb, "20-plain", "echo plain >> " + sb.path("order"));
  ::chmod(sb.path("cont-init.d/20-plain").c_str(), 0644);
  add_hook(sb, "30-c", "echo c >> " + sb.path("order"));
  Container stops(sb, {"/bin/true"});
  EXPECT_EQ(stops.wait(), 126) << stops.err();
  EXPECT_EQ(read_text(sb.path("order")), "a\n");
  EXPECT_EQ(lines_with(stops.err(), "20-plain is not executable: stopping the boot"), 1u)
      << stops.err();
  EXPECT_EQ(lines_with(stops.err(), "svinit: error:"), 1u) << stops.err();
  // Going on silently still names a hook that cannot run at all.
  ::unlink(sb.path("order").c_str());
  Container goes_on(sb, {"/bin/true"}, {{"SVKIT_BEHAVIOUR_IF_STAGE2_FAILS", "0"}});
  EXPECT_EQ(goes_on.wait(), 0) << goes_on.err();
  EXPECT_EQ(read_text(sb.path("order")), "a\nc\n");
  EXPECT_EQ(lines_with(goes_on.err(), "20-plain is not executable; going on"), 1u) << goes_on.err();
}

TEST(SvinitBadInput, MissingCmdIs127WithOneClearLine) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  Container c(sb, {"/nonexistent/cmd", "arg"});
  EXPECT_EQ(c.wait(), 127) << c.err();
  EXPECT_EQ(lines_with(c.err(), "CMD /nonexistent/cmd: not found"), 1u) << c.err();
  EXPECT_EQ(lines_with(c.err(), "svinit: error:"), 1u) << c.err();
}

TEST(SvinitBadInput, UnwritableRundirOrScandirIs111WithOneLine) {
  if (!namespaces_work()) GTEST_SKIP() << kNoNamespaces;
  Sandbox sb;
  sb.write("a-file", "not a folder\n");
  Container rundir(sb, {"/bin/true"}, {{"SVKIT_RUNDIR", sb.path("a-file/run")}});
  EXPECT_EQ(rundir.wait(), 111);
  EXPECT_EQ(lines_with(rundir.err(), "run dir " + sb.path("a-file/run") + " is not usable"), 1u)
      << rundir.err();
  EXPECT_EQ(lines_with(rundir.err(), ""), 1u) << rundir.err();

  Container scandir(sb, {"/bin/true"}, {{"SVKIT_SCANDIR", sb.path("a-file")}});
  EXPECT_EQ(scandir.wait(), 111);
  EXPECT_EQ(lines_with(scandir.err(), "scandir " + sb.path("a-file") + " is not usable"), 1u)
      << scandir.err();
  EXPECT_EQ(lines_with(scandir.err(), ""), 1u) << scandir.err();
}

TEST(SvinitBadInput, UnknownOptionIsAUsageError) {
  Sandbox sb;
  auto result = sb.run({kSvinit, "--frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("usage: svinit"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace svkit::test
