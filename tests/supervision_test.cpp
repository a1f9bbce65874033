// supervise and svscan over real service directories: real processes, real
// signals, real FIFOs, one sandbox per test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "../lib/files.hpp"
#include "../lib/spawn.hpp"
#include "harness.hpp"

namespace svkit::test {
namespace {

// A run script that stays up until signalled.
constexpr const char* kLongRunning = "exec sleep 100000";
// Immediate restarts keep the tests quick; the 1 s default is s6's.
const std::map<std::string, std::string> kFastRestart{{"restart-min-interval", "0"}};

// Opens a FIFO for writing once its reader is there (deadline-bounded) and writes `text`.
void write_fifo(const std::string& path, const std::string& text) {
  int fd = -1;
  eventually([&] { return (fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; },
             "a reader on FIFO " + path);
  if (fd < 0) return;
  ASSERT_EQ(::write(fd, text.data(), text.size()), ssize_t(text.size()));
  ::close(fd);
}

TEST(Supervision, ServicesStartAndStatListsThem) {
  Sandbox sb;
  sb.add_service("alpha", kLongRunning);
  sb.add_service("beta", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "alpha");
  sb.wait("up", "beta");
  auto stat = sb.svctl({"stat"});
  EXPECT_EQ(stat.exit_code, 0);
  EXPECT_NE(stat.out.find("alpha: up (pid "), std::string::npos) << stat.out;
  EXPECT_NE(stat.out.find("beta: up (pid "), std::string::npos) << stat.out;
  EXPECT_TRUE(process_alive(sb.status("alpha")->pid));
}

TEST(Supervision, KilledChildIsReplacedByANewProcess) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning, kFastRestart);
  sb.start_svscan();
  sb.wait("up", "svc");
  const pid_t first = sb.status("svc")->pid;
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  const pid_t second = sb.wait_new_pid("svc", first);
  EXPECT_TRUE(process_alive(second));
  auto s = sb.status("svc");
  EXPECT_EQ(s->restarts, 1u);
}

TEST(Supervision, DownStaysDownAndUpBringsItBack) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning, kFastRestart);
  sb.start_svscan();
  sb.wait("up", "svc");
  const pid_t first = sb.status("svc")->pid;
  EXPECT_EQ(sb.svctl({"down", "svc"}).exit_code, 0);
  sb.wait("down", "svc");
  EXPECT_FALSE(process_alive(first));
  auto s = sb.status("svc");
  EXPECT_EQ(s->want, Want::down);
  ASSERT_TRUE(s->last_exit);
  EXPECT_EQ(s->last_exit->signal, SIGTERM);
  auto stat = sb.svctl({"stat", "svc"});
  EXPECT_NE(stat.out.find("want down (operator)"), std::string::npos) << stat.out;
  // Still down after the restart interval: nothing restarts a wanted-down service.
  EXPECT_EQ(sb.svctl({"wait", "up", "-t", "300", "svc"}).exit_code, 3);
  EXPECT_EQ(sb.svctl({"up", "svc"}).exit_code, 0);
  sb.wait_new_pid("svc", first);
}

TEST(Supervision, DownFileMeansStartDownAndOnceRunsOnce) {
  Sandbox sb;
  sb.write("marker-fifo", "");
  ::unlink(sb.path("marker-fifo").c_str());
  ASSERT_EQ(::mkfifo(sb.path("marker-fifo").c_str(), 0600), 0);
  sb.add_service("svc", "read line < " + sb.path("marker-fifo") + "\nexit 0",
                 {{"down", ""}, {"restart-min-interval", "0"}});
  sb.start_svscan();
  eventually([&] { return sb.status("svc").has_value(); }, "svc status written",
             [&] { return sb.describe("svc"); });
  EXPECT_EQ(sb.status("svc")->state, RunState::down);
  EXPECT_EQ(sb.status("svc")->normally, Want::down);
  EXPECT_EQ(sb.svctl({"once", "svc"}).exit_code, 0);
  sb.wait("up", "svc");
  const pid_t pid = sb.status("svc")->pid;
  write_fifo(sb.path("marker-fifo"), "go\n");
  sb.wait("down", "svc");
  auto s = sb.status("svc");
  EXPECT_EQ(s->restarts, 0u) << "a once service was restarted";
  EXPECT_FALSE(process_alive(pid));
  ASSERT_TRUE(s->last_exit);
  EXPECT_EQ(s->last_exit->code, 0);
}

TEST(Supervision, WaitReturnsOnTheEventAndTimesOutWithCode3) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning, {{"down", ""}});
  sb.start_svscan();
  eventually([&] { return sb.status("svc").has_value(); }, "svc status written");
  EXPECT_EQ(sb.svctl({"wait", "up", "-t", "100", "svc"}).exit_code, 3);
  // A waiter started before the event returns once it happens.
  auto spawned =
      spawn({.argv = {program_path("svctl"), "wait", "up", "svc"}, .extra_env = sb.env()});
  ASSERT_GT(spawned.pid, 0);
  EXPECT_EQ(sb.svctl({"up", "svc"}).exit_code, 0);
  EXPECT_EQ(wait_child(spawned.pid), 0) << "svctl wait up did not return after the service came up";
}

// svctl term, kill and restart are an operator's: the service comes back at
// once (no 1 s backoff, the default here), with no evidence and no restart counted.
TEST(Supervision, AnOperatorsTermKillOrRestartIsNoCrash) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  pid_t pid = sb.status("svc")->pid;
  for (auto command : {"term", "kill", "restart"}) {
    ASSERT_EQ(sb.svctl({command, "svc"}).exit_code, 0) << command;
    pid = sb.wait_new_pid("svc", pid);
    auto s = sb.status("svc");
    EXPECT_EQ(s->restarts, 0u) << command;
    EXPECT_TRUE(s->evidence.empty()) << command << ": " << s->evidence;
  }
  EXPECT_FALSE(path_exists(sb.log_dir() + "/svc/evidence"));
  // A bare kill is a crash: evidence, counted, and the backoff's delay.
  ::kill(pid, SIGKILL);
  eventually(
      [&] {
        auto s = sb.status("svc");
        return s && s->state == RunState::backoff && s->restarts == 1 && !s->evidence.empty();
      },
      "a crash in backoff with evidence", [&] { return sb.describe("svc"); });
}

TEST(Supervision, ACrashOfAOnceServiceIsEvidence) {
  Sandbox sb;
  sb.add_service("job", "echo about to fail\nexit 4", {{"down", ""}});
  sb.start_svscan();
  eventually([&] { return sb.status("job").has_value(); }, "job's status");
  ASSERT_EQ(sb.svctl({"once", "job"}).exit_code, 0);
  eventually(
      [&] {
        auto s = sb.status("job");
        return s && s->last_exit && !s->evidence.empty();
      },
      "evidence of the once service's crash", [&] { return sb.describe("job"); });
  auto s = sb.status("job");
  EXPECT_EQ(s->state, RunState::down);
  EXPECT_EQ(s->restarts, 0u);
  const std::string evidence = read_text(s->evidence);
  EXPECT_NE(evidence.find("exit_code: 4"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("about to fail"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("next: stays down"), std::string::npos) << evidence;
}

TEST(Supervision, TheEnvFolderSetsAndUnsetsVariables) {
  Sandbox sb;
  const std::string out = sb.path("seen");
  sb.add_service(
      "svc",
      "echo \"$GREETING|${HOME-unset}|$SVKIT_SERVICE|$EMPTYISH\" > " + out + "\nexec sleep 100000",
      {{"env/GREETING", "hello world \t\nsecond line is ignored\n"},
       {"env/HOME", ""},
       {"env/EMPTYISH", "\n"},
       {"env/bad-name", "x"},
       {"env/SVKIT_SERVICE", "spoofed"}});
  sb.start_svscan();
  sb.wait("up", "svc");
  eventually([&] { return !read_text(out).empty(); }, "the service to write what it sees");
  EXPECT_EQ(read_text(out), "hello world|unset|svc|\n");
  auto s = sb.status("svc");
  ASSERT_EQ(s->errors.size(), 1u) << sb.describe("svc");
  EXPECT_EQ(s->errors[0], "env/\"bad-name\": not a variable name; skipped");
}

// svscan started as `nohup svscan &` from a script would be: SIGHUP, SIGQUIT,
// SIGXFSZ and SIGUSR1 ignored. None of that reaches a service.
TEST(Supervision, AServiceStartsWithDefaultSignalsWhateverSvscanInherited) {
  Sandbox sb;
  const std::string out = sb.path("seen");
  sb.add_service("svc", "grep '^Sig[BI]' /proc/self/status > " + out + ".tmp && mv " + out +
                            ".tmp " + out + "\nexec sleep 100000");
  sb.start_svscan({}, {"/bin/sh", "-c", "trap '' HUP QUIT XFSZ USR1; exec \"$0\" \"$@\""});
  eventually([&] { return !read_text(out).empty(); }, "the service to write its signal state");
  EXPECT_EQ(read_text(out), "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

// A service that prints one line per line on its FIFO, `burst` prints 200.
std::string echoing_service(const std::string& fifo) {
  return "exec 3<> " + fifo +
         "\necho >&4\n"
         "while read -r t <&3; do\n"
         "  if [ \"$t\" = burst ]; then i=0; while [ $i -lt 200 ]; do echo \"burst $i\"; "
         "i=$((i+1)); done; fi\n"
         "  echo \"said $t\"\n"
         "done";
}

TEST(Logs, LastLinesMergedByTimeAndFollowedAcrossRotationAndRestart) {
  Sandbox sb;
  for (auto name : {"a", "b"}) {
    ASSERT_EQ(::mkfifo(sb.path(std::string(name) + ".fifo").c_str(), 0600), 0);
    sb.add_service(name, echoing_service(sb.path(std::string(name) + ".fifo")),
                   {{"notification-fd", "4"}, {"log-max-bytes", "4096"}, {"log-keep", "3"}});
  }
  sb.start_svscan();
  sb.wait("ready", "a");
  sb.wait("ready", "b");
  auto say = [&](const std::string& name, const std::string& word) {
    write_fifo(sb.path(name + ".fifo"), word + "\n");
    const std::string log = sb.log_dir() + "/" + name + "/current";
    eventually(
        [&] {
          return (read_text(log) + read_text(log + ".1")).find("said " + word) != std::string::npos;
        },
        name + " to log \"" + word + "\"");
    // Lines are stamped to the millisecond and ties merge by name: the next line must be
    // stamped later than this one for the merge order below to be the time order.
    const auto stamped =
        std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    eventually(
        [&] { return std::chrono::system_clock::now() >= stamped + std::chrono::milliseconds(1); },
        "the clock to pass the millisecond of \"" + word + "\"");
  };
  say("a", "one");
  say("b", "two");
  say("a", "three");
  auto last_two = sb.svctl({"logs", "-n", "2", "a"});
  ASSERT_EQ(last_two.exit_code, 0) << last_two.err;
  EXPECT_EQ(std::count(last_two.out.begin(), last_two.out.end(), '\n'), 2) << last_two.out;
  EXPECT_NE(last_two.out.find("Z said one\n"), std::string::npos) << last_two.out;
  EXPECT_NE(last_two.out.find("Z said three\n"), std::string::npos) << last_two.out;
  auto merged = sb.svctl({"logs", "a", "b"});
  const auto one = merged.out.find("a | "), two = merged.out.find("b | "),
             three = merged.out.find("said three");
  ASSERT_NE(two, std::string::npos) << merged.out;
  EXPECT_LT(one, two) << merged.out;
  EXPECT_LT(two, three) << merged.out;
  EXPECT_EQ(sb.svctl({"logs", "ghost"}).exit_code, 1);

  // Followed: across a rotation (a burst of 200 lines past 4 KiB) and a restart.
  Pipe follower_out = make_pipe(true);
  auto follower = spawn({.argv = {program_path("svctl"), "logs", "-f", "-n", "1", "a"},
                         .extra_env = sb.env(),
                         .fds = {{1, follower_out.write.get()}}});
  ASSERT_GT(follower.pid, 0);
  follower_out.write.reset();
  std::string followed;
  auto follows = [&](const std::string& text) {
    eventually(
        [&] {
          char buf[65536];
          ssize_t n;
          while ((n = ::read(follower_out.read.get(), buf, sizeof buf)) > 0) {
            followed.append(buf, size_t(n));
          }
          return followed.find(text) != std::string::npos;
        },
        "svctl logs -f to print \"" + text + "\"", [&] { return followed.substr(0, 500); });
  };
  follows("said three");  // the last line: it is following from here
  say("a", "four");
  follows("said four");
  say("a", "burst");
  follows("said burst");
  EXPECT_TRUE(path_exists(sb.log_dir() + "/a/current.1")) << "no rotation happened";
  for (int i = 0; i < 200; ++i) {
    ASSERT_NE(followed.find("burst " + std::to_string(i) + "\n"), std::string::npos) << i;
  }
  const pid_t before = sb.status("a")->pid;
  ASSERT_EQ(sb.svctl({"restart", "a"}).exit_code, 0);
  sb.wait_new_pid("a", before);
  sb.wait("ready", "a");
  say("a", "after-restart");
  follows("said after-restart");
  EXPECT_EQ(followed.find("said one"), std::string::npos) << "-n 1 printed older lines";
  ::kill(follower.pid, SIGTERM);
  wait_child(follower.pid);
}

TEST(Logs, EvidenceIsListedAndTheNewestShown) {
  Sandbox sb;
  sb.add_service("crash", "echo 'about to crash'\nexit 5", {{"restart", "never"}});
  sb.start_svscan();
  eventually([&] { return sb.status("crash") && !sb.status("crash")->evidence.empty(); },
             "evidence of the crash");
  auto shown = sb.svctl({"logs", "--evidence", "crash"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("-exit-5.log  reason: exited 5; restart policy is never\n"),
            std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("about to crash"), std::string::npos) << shown.out;
}

TEST(Supervision, FinishGetsExitCodeOrSignal) {
  Sandbox sb;
  const std::string record = sb.path("finish-args");
  sb.add_service(
      "svc", "exec sleep 100000",
      {{"finish", "#!/bin/sh\necho \"$1 $2\" >> " + record + "\n"}, {"restart-min-interval", "0"}});
  sb.add_service(
      "quitter", "exit 3",
      {{"finish", "#!/bin/sh\necho \"$1 $2\" >> " + record + ".quitter\n"}, {"down", ""}});
  sb.start_svscan();
  sb.wait("up", "svc");
  ::kill(sb.status("svc")->pid, SIGKILL);
  eventually([&] { return read_text(record) == "256 9\n"; }, "finish called with \"256 9\"",
             [&] { return "args: " + read_text(record); });
  eventually([&] { return sb.status("quitter").has_value(); }, "quitter status");
  EXPECT_EQ(sb.svctl({"once", "quitter"}).exit_code, 0);
  eventually([&] { return read_text(record + ".quitter") == "3 0\n"; },
             "finish called with \"3 0\"", [&] { return read_text(record + ".quitter"); });
}

TEST(Supervision, FinishExit125IsAPermanentFailure) {
  Sandbox sb;
  sb.add_service("svc", "exit 1",
                 {{"finish", "#!/bin/sh\nexit 125\n"}, {"restart-min-interval", "0"}});
  sb.start_svscan();
  eventually(
      [&] {
        auto s = sb.status("svc");
        return s && s->state == RunState::failed;
      },
      "svc failed for good after finish exited 125", [&] { return sb.describe("svc"); });
  EXPECT_EQ(sb.status("svc")->restarts, 0u);
  EXPECT_NE(read_text(sb.status("svc")->evidence).find("next: not restarted: permanent failure"),
            std::string::npos);
  EXPECT_NE(sb.svctl({"stat", "svc"}).out.find("permanent failure"), std::string::npos);
}

TEST(Supervision, ReadinessFromNotificationFd) {
  Sandbox sb;
  ASSERT_EQ(::mkfifo(sb.path("go").c_str(), 0600), 0);
  sb.add_service("svc", "read line < " + sb.path("go") + "\necho >&3\nexec sleep 100000",
                 {{"notification-fd", "3"}});
  sb.start_svscan();
  sb.wait("up", "svc");
  EXPECT_EQ(sb.status("svc")->ready_since_ms, 0);
  EXPECT_NE(sb.svctl({"stat", "svc"}).out.find("not ready"), std::string::npos);
  EXPECT_EQ(sb.svctl({"wait", "ready", "-t", "100", "svc"}).exit_code, 3);
  write_fifo(sb.path("go"), "now\n");
  sb.wait("ready", "svc");
  EXPECT_GT(sb.status("svc")->ready_since_ms, 0);
}

TEST(Supervision, SecondSuperviseIsRefusedByTheLock) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  const std::string before = read_text(status_path(sb.service_dir("svc")));
  auto second = sb.run({program_path("supervise"), sb.service_dir("svc")});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("already supervised"), std::string::npos) << second.err;
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1) << second.err;
  EXPECT_EQ(read_text(status_path(sb.service_dir("svc"))), before);
  EXPECT_TRUE(process_alive(sb.status("svc")->pid));
}

TEST(Supervision, ControlFifoIsOwnerOnly) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  struct stat st;
  ASSERT_EQ(::stat((sb.service_dir("svc") + "/supervise/control").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Supervision, ServiceOutputGoesToItsLogWithTimestamps) {
  Sandbox sb;
  sb.add_service("svc", "echo to stdout\necho to stderr >&2\nexec sleep 100000");
  sb.start_svscan();
  const std::string log = sb.log_dir() + "/svc/current";
  eventually(
      [&] {
        auto text = read_text(log);
        return text.find("Z to stdout\n") != std::string::npos &&
               text.find("Z to stderr\n") != std::string::npos;
      },
      "both output lines in " + log, [&] { return read_text(log); });
  // The output may hold secrets: no world access.
  struct stat st;
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::stat((sb.log_dir() + "/svc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
}

TEST(Supervision, SignalCommandsReachTheService) {
  Sandbox sb;
  const std::string got = sb.path("got-hup");
  sb.add_service(
      "svc", "trap 'echo hup >> " + got + "' HUP\necho >&3\nwhile :; do sleep 1 & wait $!; done",
      {{"notification-fd", "3"}});
  sb.start_svscan();
  sb.wait("ready", "svc");
  EXPECT_EQ(sb.svctl({"hup", "svc"}).exit_code, 0);
  eventually([&] { return read_text(got) == "hup\n"; }, "the service trapped SIGHUP");
}

TEST(Supervision, TimeoutKillEscalatesToSigkill) {
  Sandbox sb;
  sb.add_service("stubborn", "trap '' TERM\necho >&3\nwhile :; do sleep 1; done",
                 {{"timeout-kill", "200"}, {"notification-fd", "3"}});
  sb.start_svscan();
  sb.wait("ready", "stubborn");
  EXPECT_EQ(sb.svctl({"down", "stubborn"}).exit_code, 0);
  sb.wait("down", "stubborn");
  auto s = sb.status("stubborn");
  ASSERT_TRUE(s->last_exit);
  EXPECT_EQ(s->last_exit->signal, SIGKILL);
}

TEST(Supervision, DownSignalIsUsed) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning, {{"down-signal", "INT"}});
  sb.start_svscan();
  sb.wait("up", "svc");
  sb.svctl({"down", "svc"});
  sb.wait("down", "svc");
  EXPECT_EQ(sb.status("svc")->last_exit->signal, SIGINT);
}

TEST(BadInput, BadFilesAreReportedAndTheServiceStillRuns) {
  Sandbox sb;
  sb.add_service(
      "svc", kLongRunning,
      {{"timeout-kill", "soon"}, {"notification-fd", "banana"}, {"restart-min-interval", "-1"}});
  sb.add_service("neighbour", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  sb.wait("up", "neighbour");
  auto stat = sb.svctl({"stat", "svc"});
  EXPECT_NE(stat.out.find("error: notification-fd: \"banana\""), std::string::npos) << stat.out;
  EXPECT_NE(stat.out.find("(+2 more)"), std::string::npos) << stat.out;
  EXPECT_EQ(sb.status("svc")->errors.size(), 3u);
}

TEST(BadInput, MissingOrNonExecutableRunIsAFailedStartWithEvidence) {
  Sandbox sb;
  sb.add_service("noexec", kLongRunning, kFastRestart);
  ::chmod((sb.service_dir("noexec") + "/run").c_str(), 0644);
  (void)make_dirs(sb.service_dir("norun"));
  sb.add_service("neighbour", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "neighbour");
  for (auto [name, why] : {std::pair{"noexec", "run: Permission denied"},
                           std::pair{"norun", "run: No such file or directory"}}) {
    eventually(
        [&] {
          auto s = sb.status(name);
          return s && !s->errors.empty() &&
                 s->errors.back() == std::string("cannot start ") + why && !s->evidence.empty();
        },
        std::string(name) + " reports that run cannot start, with evidence",
        [&] { return sb.describe(name); });
    const std::string evidence = read_text(sb.status(name)->evidence);
    EXPECT_NE(evidence.find(std::string("reason: cannot start ") + why), std::string::npos)
        << evidence;
    EXPECT_NE(sb.status(name)->evidence.find("-start-failed.log"), std::string::npos);
  }
  // Fixing the file is enough: the next attempt starts it.
  ::chmod((sb.service_dir("noexec") + "/run").c_str(), 0755);
  sb.wait("up", "noexec");
}

TEST(BadInput, AFailedStartHonoursRestartNever) {
  Sandbox sb;
  sb.add_service("once-only", kLongRunning, {{"restart", "never"}});
  sb.write(sb.service_dir("once-only") + "/run", "#!/command/with-contenv sh\nexit 0\n", true);
  sb.start_svscan();
  eventually(
      [&] {
        auto s = sb.status("once-only");
        return s && s->state == RunState::down && !s->reason.empty();
      },
      "once-only down after its failed start", [&] { return sb.describe("once-only"); });
  auto s = sb.status("once-only");
  EXPECT_EQ(s->reason,
            "cannot start run: #!/command/with-contenv: interpreter not found; "
            "restart policy is never");
  EXPECT_EQ(s->restarts, 0u);
  EXPECT_FALSE(s->last_exit) << "a start that failed has no exit code";
}

TEST(BadInput, UnknownControlBytesAreReportedAndIgnored) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  const pid_t pid = sb.status("svc")->pid;
  int fd = ::open((sb.service_dir("svc") + "/supervise/control").c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "Z\x01", 2), 2);
  ::close(fd);
  eventually(
      [&] {
        auto s = sb.status("svc");
        return s && s->errors.size() == 1 &&
               s->errors[0] == "control: 2 unknown command bytes ignored (first 0x5a)";
      },
      "one line for both unknown control bytes", [&] { return sb.describe("svc"); });
  EXPECT_EQ(sb.status("svc")->pid, pid);
  EXPECT_TRUE(process_alive(pid));
}

size_t lines(const std::string& text) {
  return size_t(std::count(text.begin(), text.end(), '\n'));
}

TEST(BadInput, SvctlArgumentsAndUnknownServices) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  auto bad_name = sb.svctl({"up", "../etc"});
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_EQ(lines(bad_name.err), 1u) << bad_name.err;
  auto unknown = sb.svctl({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(lines(unknown.err), 1u) << unknown.err;
  EXPECT_NE(unknown.err.find("unknown command \"frobnicate\"; commands: "), std::string::npos)
      << unknown.err;
  EXPECT_NE(unknown.err.find("stat"), std::string::npos) << unknown.err;
  EXPECT_EQ(sb.svctl({"wait", "sideways", "svc"}).exit_code, 2);
  auto none = sb.svctl({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(lines(none.err), 1u) << none.err;
  for (auto bad : {"abc", "-5", "1e3", "99999999999999999999999"}) {
    auto timeout = sb.svctl({"wait", "up", "svc", "-t", bad});
    EXPECT_EQ(timeout.exit_code, 2) << bad;
    EXPECT_EQ(lines(timeout.err), 1u) << timeout.err;
    EXPECT_LT(timeout.err.size(), 120u) << timeout.err;
  }
  for (const auto& args : std::vector<std::vector<std::string>>{{"stat", "--bogus"},
                                                                {"wait", "up", "-t"},
                                                                {"logs", "-n", "x"},
                                                                {"up"},
                                                                {"remove"},
                                                                {"add", "job"},
                                                                {"scan", "extra"},
                                                                {"stat", "--json=yes"},
                                                                {"down", "-w", "svc"}}) {
    auto result = sb.svctl(args);
    EXPECT_EQ(result.exit_code, 2) << args[0] << " " << args[1 % args.size()];
    EXPECT_EQ(lines(result.err), 1u) << result.err;
    EXPECT_EQ(result.err.rfind("svctl: " + args[0] + ": ", 0), 0u) << result.err;
  }
  auto help = sb.svctl({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("wait [-t MS] up|down|ready [NAME...]"), std::string::npos) << help.out;
  auto wait_help = sb.svctl({"wait", "-h"});
  EXPECT_EQ(wait_help.exit_code, 0);
  EXPECT_NE(wait_help.out.find("-t, --timeout MS"), std::string::npos) << wait_help.out;
  // Options in either form, before or after the names.
  auto json = sb.svctl({"--scandir=" + sb.scandir(), "stat", "svc", "--json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"supervised\":true"), std::string::npos) << json.out;
  EXPECT_EQ(sb.svctl({"wait", "up", "svc", "--timeout=60000"}).exit_code, 0);
  auto missing = sb.svctl({"up", "ghost"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("ghost: not supervised"), std::string::npos) << missing.err;
  auto stat = sb.svctl({"stat", "svc", "ghost"});
  EXPECT_EQ(stat.exit_code, 1);
  EXPECT_NE(stat.out.find("ghost: not supervised"), std::string::npos);
  EXPECT_NE(stat.out.find("svc: up"), std::string::npos);
  // A scandir that does not exist is the same error for every command.
  for (auto command : std::vector<std::vector<std::string>>{
           {"stat"}, {"up", "x"}, {"down", "x"}, {"wait", "up", "x"}, {"kill", "x"}}) {
    command.insert(command.begin(), {"-s", sb.path("nowhere")});
    auto result = sb.svctl(command);
    EXPECT_EQ(result.exit_code, 111) << command[2];
    EXPECT_EQ(result.err, "svctl: scandir " + sb.path("nowhere") + " does not exist\n");
  }
}

// As root, svctl run as nobody: every changing command is refused at once
// with one line and exit 4, and nothing changes; reading still works.
TEST(BadInput, UnprivilegedCommandsAreRefusedWithOneLine) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run svctl as another user";
  Sandbox sb;
  ASSERT_EQ(::chmod(sb.root().c_str(), 0755), 0);
  sb.add_service("svc", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  const pid_t pid = sb.status("svc")->pid;
  const std::vector<std::string> as_nobody{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                           "--clear-groups", program_path("svctl")};
  for (auto command : {"up", "down", "once", "restart", "term", "kill", "hup", "mark-stop"}) {
    auto argv = as_nobody;
    argv.insert(argv.end(), {command, "svc"});
    auto result = sb.run(argv);
    EXPECT_EQ(result.exit_code, 4) << command << ": " << result.err;
    EXPECT_EQ(lines(result.err), 1u) << command << ": " << result.err;
    EXPECT_NE(result.err.find("permission denied"), std::string::npos) << result.err;
  }
  auto argv = as_nobody;
  argv.insert(argv.end(), {"stat", "svc"});
  EXPECT_EQ(sb.run(argv).exit_code, 0);
  // Profiles: adding one, and removing one, are refused at once too.
  ASSERT_EQ(sb.svctl({"add", "job", "--", "sleep", "100000"}).exit_code, 0);
  sb.wait("up", "job");
  for (auto command : std::vector<std::vector<std::string>>{
           {"add", "other", "--", "true"}, {"remove", "job"}, {"down", "job"}}) {
    argv = as_nobody;
    argv.insert(argv.end(), command.begin(), command.end());
    auto result = sb.run(argv);
    EXPECT_EQ(result.exit_code, 4) << command[0] << ": " << result.err;
    EXPECT_EQ(lines(result.err), 1u) << command[0] << ": " << result.err;
  }
  EXPECT_EQ(sb.status("job")->state, RunState::up);
  auto s = sb.status("svc");
  EXPECT_EQ(s->pid, pid);
  EXPECT_EQ(s->want, Want::up);
  EXPECT_FALSE(path_exists(sb.service_dir("svc") + "/supervise/planned-stop"));
}

TEST(BadInput, AnUnknownLogLevelWarnsAndKeepsInfo) {
  Sandbox sb;
  auto result =
      sb.run({"/usr/bin/env", "SVKIT_LOG_LEVEL=loud", program_path("svscan"), sb.path("nowhere")});
  EXPECT_EQ(result.exit_code, 111);
  EXPECT_NE(result.err.find("SVKIT_LOG_LEVEL: \"loud\" is not trace, debug, info, warn, error, "
                            "critical or off; info kept"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("nowhere is not a directory"), std::string::npos) << result.err;
  EXPECT_EQ(lines(result.err), 2u) << result.err;
}

TEST(BadInput, SvscanOnAMissingScandirSaysSoOnce) {
  Sandbox sb;
  auto result = sb.run({program_path("svscan"), sb.path("nowhere")});
  EXPECT_EQ(result.exit_code, 111);
  EXPECT_NE(result.err.find("nowhere is not a directory"), std::string::npos) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

TEST(BadInput, SvscanAndReconcileArgumentsAreOneLineAndExit2) {
  Sandbox sb;
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {program_path("svscan"), "--bogus"},
           {program_path("svscan"), "--rescan-ms", "soon"},
           {program_path("svscan"), "--rescan-ms"},
           {program_path("svscan"), sb.scandir(), sb.path("second")},
           {program_path("reconcile"), "--scandir"},
           {program_path("reconcile"), "extra"}}) {
    auto result = sb.run(argv);
    EXPECT_EQ(result.exit_code, 2) << argv[1];
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
  auto help = sb.run({program_path("svscan"), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--rescan-ms MS"), std::string::npos) << help.out;
}

// Every program is one binary, picked by the name it runs as or by its first
// argument; any other name is one line and exit 2.
TEST(MultiCall, TheBinaryRunsTheProgramNamedByItsLinkOrItsFirstArgument) {
  Sandbox sb;
  sb.add_service("svc", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "svc");
  const std::string binary = std::filesystem::canonical(program_path("svctl")).string();
  ASSERT_EQ(std::filesystem::path(binary).filename(), "svkit");
  auto stat = sb.run({binary, "svctl", "stat", "svc"});
  EXPECT_EQ(stat.exit_code, 0) << stat.err;
  EXPECT_NE(stat.out.find("svc: up"), std::string::npos) << stat.out;
  const std::string renamed = sb.path("ctl");
  std::filesystem::create_symlink(binary, renamed);
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {binary}, {binary, "frobnicate", "stat"}, {renamed, "stat"}}) {
    auto result = sb.run(argv);
    EXPECT_EQ(result.exit_code, 2) << argv.back();
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_NE(result.err.find("supervise, svscan, svctl, svinit, reconcile"), std::string::npos)
        << result.err;
  }
  // The supervise svscan started runs as "supervise" (what ps shows).
  const auto lock = read_text(sb.service_dir("svc") + "/supervise/lock");
  EXPECT_EQ(read_text("/proc/" + lock.substr(0, lock.find('\n')) + "/comm"), "supervise\n");
}

TEST(Svscan, PicksUpNewServicesAndStopsRemovedOnes) {
  Sandbox sb;
  sb.add_service("first", kLongRunning);
  sb.start_svscan();
  sb.wait("up", "first");
  sb.add_service("second", kLongRunning);
  sb.wait("up", "second");
  const pid_t pid = sb.status("second")->pid;
  std::filesystem::remove_all(sb.service_dir("second"));
  eventually([&] { return !process_alive(pid); }, "the removed service's process to stop");
  EXPECT_TRUE(process_alive(sb.status("first")->pid));
}

// A service svscan cannot see at first: its scandir entry is a link to a
// folder that does not exist yet. Making the folder is no change inside the
// scandir, so inotify says nothing: only a rescan finds it.
void add_hidden_service(Sandbox& sb, const std::string& name) {
  ASSERT_EQ(::symlink(sb.path("elsewhere/" + name).c_str(), sb.service_dir(name).c_str()), 0);
}
void reveal_hidden_service(Sandbox& sb, const std::string& name) {
  sb.write("elsewhere/." + name + "/run", std::string("#!/bin/sh\n") + kLongRunning + "\n", true);
  ASSERT_EQ(::rename(sb.path("elsewhere/." + name).c_str(), sb.path("elsewhere/" + name).c_str()),
            0);
}

TEST(Svscan, ScanCommandFindsWhatInotifyCannotSee) {
  Sandbox sb;
  add_hidden_service(sb, "late");
  sb.start_svscan();
  eventually([&] { return sb.svctl({"scan"}).exit_code == 0; }, "svscan listening for scan");
  reveal_hidden_service(sb, "late");
  EXPECT_EQ(sb.svctl({"scan"}).exit_code, 0);
  sb.wait("up", "late");
}

TEST(Svscan, SighupFindsWhatInotifyCannotSee) {
  Sandbox sb;
  add_hidden_service(sb, "late");
  sb.start_svscan();
  eventually([&] { return sb.svctl({"scan"}).exit_code == 0; }, "svscan running");
  reveal_hidden_service(sb, "late");
  ASSERT_EQ(::kill(sb.svscan_pid(), SIGHUP), 0);
  sb.wait("up", "late");
}

TEST(Svscan, RescanPeriodFindsWhatInotifyCannotSee) {
  Sandbox sb;
  add_hidden_service(sb, "late");
  sb.start_svscan({"--rescan-ms", "50"});
  eventually([&] { return sb.svctl({"scan"}).exit_code == 0; }, "svscan running");
  reveal_hidden_service(sb, "late");
  sb.wait("up", "late");
}

TEST(Svscan, LoggedServiceLosesNoLineWhileServiceAndLoggerAreKilled) {
  Sandbox sb;
  const std::string tick = sb.path("tick"), counter = sb.path("counter"), out = sb.path("out");
  ASSERT_EQ(::mkfifo(tick.c_str(), 0600), 0);
  // One numbered line per tick; the number survives restarts of the service.
  sb.add_service(
      "numbers",
      "n=$(cat " + counter +
          " 2>/dev/null || echo 0)\n"
          // A reopen of the FIFO can meet the last writer closing: EOF, read again.
          "while :; do\n"
          "  read t < " +
          tick +
          " || continue\n"
          "  n=$((n + 1)); echo $n > " +
          counter +
          "; echo \"line $n\"\n"
          "done",
      {{"restart-min-interval", "0"},
       {"log/run", "#!/bin/sh\nwhile IFS= read -r l; do echo \"$l\" >> " + out + "; done\n"},
       {"log/restart-min-interval", "0"}});
  sb.start_svscan();
  sb.wait("up", "numbers");
  sb.wait("up", "numbers/log");
  std::string expected;
  for (int i = 1; i <= 30; ++i) {
    write_fifo(tick, "x\n");
    expected += "line " + std::to_string(i) + "\n";
    ASSERT_TRUE(eventually([&] { return read_text(out) == expected; },
                           "logger output to hold lines 1.." + std::to_string(i),
                           [&] { return "out:\n" + read_text(out); }));
    // Each kill lands after the line is out, so a lost line would be the pipe's fault.
    if (i % 3 == 0) {
      const pid_t logger = sb.status("numbers/log")->pid;
      ::kill(logger, SIGKILL);
      // Until it is really dead a killed reader can still take bytes from the pipe.
      eventually([&] { return !process_alive(logger); }, "the killed logger to die");
      if (i % 6 == 0)
        sb.wait_new_pid("numbers/log", logger);  // else: the next line waits in the pipe
    }
    if (i % 4 == 0) {
      const pid_t service = sb.status("numbers")->pid;
      ::kill(service, SIGKILL);
      sb.wait_new_pid("numbers", service);
    }
  }
  // supervise saw every one of those deaths (not the test's own loop counting).
  eventually(
      [&] {
        auto service = sb.status("numbers"), logger = sb.status("numbers/log");
        return service && logger && service->restarts == 7 && logger->restarts == 10;
      },
      "7 restarts of the service and 10 of its logger in their status",
      [&] {
        std::string all = sb.describe("numbers") + sb.describe("numbers/log");
        for (auto& e : std::filesystem::directory_iterator(sb.log_dir() + "/numbers/evidence")) {
          all += e.path().string() + ":\n" + read_text(e.path().string()).substr(0, 400) + "\n";
        }
        return all;
      });
  EXPECT_EQ(read_text(out), expected);
}

TEST(Svscan, SigtermLeavesNoProcessAndNoZombie) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);  // orphans would come to us: none may
  Sandbox sb;
  sb.add_service("a", kLongRunning);
  // A helper in the service's process group goes down with it.
  sb.add_service("b", "sleep 100000 &\necho $! > " + sb.path("helper.pid") + "\nexec sleep 100000");
  sb.add_service("c", "exec sleep 100000", {{"log/run", "#!/bin/sh\nexec cat > /dev/null\n"}});
  sb.start_svscan();
  std::vector<pid_t> pids;
  for (auto name : {"a", "b", "c", "c/log"}) {
    sb.wait("up", name);
    pids.push_back(sb.status(name)->pid);
  }
  eventually([&] { return !read_text(sb.path("helper.pid")).empty(); }, "b wrote its helper pid");
  pids.push_back(std::stoi(read_text(sb.path("helper.pid"))));
  EXPECT_EQ(sb.stop_svscan(), 0);
  for (pid_t pid : pids) {
    EXPECT_FALSE(process_alive(pid)) << "service process " << pid << " survived svscan";
    EXPECT_FALSE(is_zombie(pid)) << "zombie " << pid;
  }
}

// At a shutdown a supervise lowers its priority once its service has the
// signal (the services' own shutdown work comes first), but not when a finish
// script is still to run (it would inherit it), nor when svscan waits for it
// before it stops another service (dependencies, a logger).
TEST(Svscan, AtShutdownASuperviseYieldsTheCpuOnlyWhenNothingWaitsForIt) {
  Sandbox sb;
  // Ignores SIGTERM and SIGHUP, and says when it got each (dash's wait
  // returns on a trapped signal).
  auto stubborn = [&](const std::string& name) {
    return "trap 'echo > " + sb.path(name + ".TERM") + "' TERM\ntrap 'echo > " +
           sb.path(name + ".HUP") + "' HUP\necho >&3\nwhile :; do sleep 100000 & wait $!; done";
  };
  auto with = [](std::map<std::string, std::string> files) {
    files["notification-fd"] = "3";
    return files;
  };
  const std::string finish_nice = sb.path("finish-nice");
  sb.add_service("plain", stubborn("plain"), with({}));
  sb.add_service("dependent", stubborn("dependent"), with({{"dependencies.d/plain", ""}}));
  sb.add_service("logged", stubborn("logged"),
                 with({{"log/run", "#!/bin/sh\nexec cat > /dev/null\n"}}));
  sb.add_service(
      "finished", stubborn("finished"),
      with({{"finish", "#!/bin/sh\ncut -d' ' -f19 /proc/$$/stat > " + finish_nice + "\n"}}));
  sb.start_svscan();
  const std::string own_nice = std::to_string(::getpriority(PRIO_PROCESS, 0));
  std::map<std::string, pid_t> service, supervise;
  for (const std::string name : {"plain", "dependent", "logged", "finished"}) {
    sb.wait("ready", name);
    service[name] = sb.status(name)->pid;
    supervise[name] = read_pid_file(sb.service_dir(name) + "/supervise/lock").value_or(0);
    ASSERT_GT(supervise[name], 0) << name << "/supervise/lock names no pid";
  }
  auto nice_of = [&](const std::string& name) {
    return proc_stat_field(supervise[name], 19).value_or("?");
  };
  auto got = [&](const std::string& name, const std::string& signal) {
    eventually([&] { return !read_text(sb.path(name + "." + signal)).empty(); },
               name + "'s service got SIG" + signal);
  };
  // Its nice once supervise has handled the exit: a control byte is read in a
  // later loop turn than the SIGTERM that made it signal its service.
  auto nice_after_exit = [&](const std::string& name) {
    got(name, "TERM");
    write_fifo(sb.service_dir(name) + "/supervise/control", "h");
    got(name, "HUP");
    return nice_of(name);
  };
  ASSERT_EQ(::kill(sb.svscan_pid(), SIGTERM), 0);
  // dependent, logged and finished go first (plain waits for dependent).
  EXPECT_EQ(nice_after_exit("dependent"), own_nice) << "plain's stop waits for this supervise";
  EXPECT_EQ(nice_after_exit("logged"), own_nice) << "its logger's stop waits for this supervise";
  got("finished", "TERM");
  ::kill(-service["dependent"], SIGKILL);  // its group: the shell and its sleep
  eventually([&] { return nice_of("plain") == "19"; },
             "plain's supervise at nice 19 once its service had SIGTERM",
             [&] { return "nice " + nice_of("plain"); });
  for (const auto& [name, pid] : service) ::kill(-pid, SIGKILL);
  EXPECT_EQ(sb.stop_svscan(), 0);
  EXPECT_EQ(read_text(finish_nice), own_nice + "\n") << "finish ran at another priority";
}

// Services s0..s(n-1) up, then their svscan SIGKILLed: the supervise
// processes run on, with nobody to stop them until an svscan takes them back.
void leave_supervisors_without_svscan(Sandbox& sb, int n) {
  for (int i = 0; i < n; ++i) sb.add_service("s" + std::to_string(i), kLongRunning);
  sb.start_svscan();
  for (int i = 0; i < n; ++i) sb.wait("up", "s" + std::to_string(i));
  ASSERT_EQ(::kill(sb.svscan_pid(), SIGKILL), 0);
  ASSERT_EQ(sb.stop_svscan(), 128 + SIGKILL);
}

// A listing of many services learns which supervise processes live from one
// read of /proc/locks. A supervise killed while svscan is gone (so none comes
// back) leaves a status that still says up: the listing says not supervised.
TEST(Svscan, AListingOfManyTellsADeadSuperviseFromItsStaleStatus) {
  Sandbox sb;
  ASSERT_NO_FATAL_FAILURE(leave_supervisors_without_svscan(sb, 20));
  const pid_t supervise = std::stoi(read_text(sb.service_dir("s7") + "/supervise/lock"));
  ASSERT_EQ(::kill(supervise, SIGKILL), 0);
  eventually([&] { return !process_alive(supervise); }, "s7's supervise to die");
  ASSERT_EQ(sb.status("s7")->state, RunState::up) << "the stale status this test is about";
  // Its run, orphaned to PID 1 with no svscan to adopt it, is this test's to end.
  const pid_t run = sb.status("s7")->pid;
  ASSERT_EQ(::kill(run, SIGKILL), 0);
  eventually([&] { return !process_alive(run); }, "s7's orphaned run to die");
  auto listing = sb.svctl({"stat"});
  EXPECT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find("s7: not supervised\n"), std::string::npos) << listing.out;
  size_t up = 0;
  for (size_t at = 0; (at = listing.out.find(": up (pid ", at)) != std::string::npos; ++at) ++up;
  EXPECT_EQ(up, 19u) << listing.out;
  // Nor does a wait take the stale status for a service that is up.
  auto stale_wait = sb.svctl({"wait", "up", "-t", "100", "s7"});
  EXPECT_EQ(stale_wait.exit_code, 3) << stale_wait.err;
  // A new svscan takes the others back and starts s7's anew (and stops them all at the end).
  sb.start_svscan();
  // (Until the new supervise writes its first status, s7's is the stale one.)
  sb.wait_new_pid("s7", run);
}

TEST(Svscan, AStopAskedForAtItsStartStillStopsTheSupervisorsItFinds) {
  Sandbox sb;
  ASSERT_NO_FATAL_FAILURE(leave_supervisors_without_svscan(sb, 3));
  // A SIGTERM that reaches the new svscan before it can act on it (here held
  // back by the mask it inherits) is acted on once it has taken the running
  // supervisors back: the harness fails the test on any of them left running.
  const pid_t svscan = sb.start_svscan({}, {"/usr/bin/env", "--block-signal=TERM"});
  eventually([&] { return read_text("/proc/" + std::to_string(svscan) + "/comm") != "env\n"; },
             "env to run svscan");
  ASSERT_EQ(::kill(svscan, SIGTERM), 0);
  EXPECT_EQ(sb.stop_svscan(), 0);
}

TEST(Svscan, TwoHundredServicesComeFullyUpAndFullyDown) {
  Sandbox sb;
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) {
    names.push_back("s" + std::to_string(i));
    sb.add_service(names.back(), kLongRunning);
  }
  sb.start_svscan();
  // A deadline only: a sanitizer build starts 200 processes slowly on 2 cores.
  std::vector<std::string> args{"wait", "up", "-t", "85000"};  // under kCommandDeadline
  args.insert(args.end(), names.begin(), names.end());
  auto waited = sb.svctl(args);
  ASSERT_EQ(waited.exit_code, 0) << waited.err;
  std::vector<pid_t> pids;
  for (const auto& n : names) pids.push_back(sb.status(n)->pid);
  EXPECT_EQ(sb.stop_svscan(), 0);
  int alive = 0;
  for (pid_t pid : pids) alive += process_alive(pid) ? 1 : 0;
  EXPECT_EQ(alive, 0);
}

}  // namespace
}  // namespace svkit::test
