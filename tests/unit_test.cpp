// Unit tests of every parser and file format.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "../lib/clock.hpp"
#include "../lib/control.hpp"
#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/proc.hpp"
#include "../lib/spawn.hpp"
#include "../lib/status.hpp"
#include "../supervise/config.hpp"
#include "../supervise/evidence.hpp"
#include "../supervise/output.hpp"
#include "../supervise/verdict.hpp"
#include "../svctl/commands.hpp"
#include "../svctl/stat_line.hpp"
#include "harness.hpp"

namespace svkit {
namespace {

using supervise::load_config;
using supervise::parse_bounded_number;
using supervise::parse_down_signal;
using supervise::parse_notification_fd;

TEST(ConfigParsers, NumbersAcceptWhitespaceAndRejectGarbage) {
  std::vector<std::string> errors;
  EXPECT_EQ(parse_bounded_number("timeout-kill", " 250\n", 1000, errors), 250u);
  EXPECT_TRUE(errors.empty());
  for (auto bad : {"", "abc", "-5", "12x", "1e3", "99999999999999999999999", "1001"}) {
    errors.clear();
    EXPECT_FALSE(parse_bounded_number("timeout-kill", bad, 1000, errors)) << bad;
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_NE(errors[0].find("timeout-kill"), std::string::npos);
  }
}

TEST(ConfigParsers, NotificationFdMustBeAboveStderr) {
  std::vector<std::string> errors;
  EXPECT_EQ(parse_notification_fd("3\n", errors), 3);
  EXPECT_FALSE(parse_notification_fd("1", errors));
  EXPECT_FALSE(parse_notification_fd("x", errors));
  EXPECT_EQ(errors.size(), 2u);
}

TEST(ConfigParsers, DownSignalByNameOrNumber) {
  std::vector<std::string> errors;
  EXPECT_EQ(parse_down_signal("HUP", errors), SIGHUP);
  EXPECT_EQ(parse_down_signal("SIGINT\n", errors), SIGINT);
  EXPECT_EQ(parse_down_signal("9", errors), SIGKILL);
  EXPECT_TRUE(errors.empty());
  EXPECT_FALSE(parse_down_signal("FOO", errors));
  EXPECT_FALSE(parse_down_signal("0", errors));
  EXPECT_FALSE(parse_down_signal("999", errors));
  EXPECT_EQ(errors.size(), 3u);
}

TEST(ConfigParsers, BadFilesKeepDefaultsAndSayWhich) {
  test::Sandbox sandbox;
  sandbox.write("svc/timeout-kill", "soon");
  sandbox.write("svc/down-signal", "NOPE");
  sandbox.write("svc/restart-min-interval", "0");
  sandbox.write("svc/notification-fd", "4");
  sandbox.write("svc/down", "");
  std::vector<std::string> errors;
  auto config = load_config(sandbox.path("svc"), errors);
  EXPECT_EQ(config.timeout_kill_ms, 10000u);
  EXPECT_EQ(config.down_signal, SIGTERM);
  EXPECT_EQ(config.restart_min_interval_ms, 0u);
  EXPECT_EQ(config.notification_fd, 4);
  EXPECT_TRUE(config.start_down);
  EXPECT_FALSE(config.has_finish);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("down-signal: \"NOPE\""), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("timeout-kill: \"soon\""), std::string::npos) << errors[1];
}

TEST(HeldLocks, AFlockForWritingIsListedUntilItIsReleased) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("held-locks-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  UniqueFd fd(::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd);
  struct stat st {};
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  ASSERT_EQ(::flock(fd.get(), LOCK_EX), 0);
  auto locks = HeldLocks::read();
  ASSERT_TRUE(locks) << "/proc/locks unreadable";
  EXPECT_TRUE(locks->held(st.st_dev, st.st_ino));
  EXPECT_FALSE(locks->held(st.st_dev + 1, st.st_ino));
  EXPECT_FALSE(locks->held(st.st_dev, 0));
  ASSERT_EQ(::flock(fd.get(), LOCK_UN), 0);
  EXPECT_FALSE(HeldLocks::read()->held(st.st_dev, st.st_ino));
  std::filesystem::remove_all(dir);
}

// /proc/locks is read in pieces of 8 KiB: with locks enough for several
// pieces (some 60 bytes a line), every one of them is found.
TEST(HeldLocks, EveryLockOfALongListIsFound) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("held-locks-many-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<UniqueFd> fds;
  std::vector<std::pair<uint64_t, uint64_t>> files;
  for (int i = 0; i < 500; ++i) {
    UniqueFd fd(
        ::open((dir + "/lock" + std::to_string(i)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd);
    struct stat st {};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    ASSERT_EQ(::flock(fd.get(), LOCK_EX), 0);
    files.emplace_back(st.st_dev, st.st_ino);
    fds.push_back(std::move(fd));
  }
  auto locks = HeldLocks::read();
  ASSERT_TRUE(locks) << "/proc/locks unreadable";
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_TRUE(locks->held(files[i].first, files[i].second)) << "lock" << i << " not found";
  }
  fds.clear();
  std::filesystem::remove_all(dir);
}

TEST(Signals, EverySignalHasANameThatParsesBack) {
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGUSR1"), SIGUSR1);
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGSYS), "SIGSYS");
  EXPECT_EQ(signal_name(SIGRTMIN + 2), "SIGRTMIN+2");
  for (int sig = 1; sig < NSIG; ++sig) {
    const std::string name = signal_name(sig);
    if (sig == 32 || sig == 33) continue;  // glibc keeps these two for itself
    EXPECT_EQ(name.find("signal "), std::string::npos) << sig;
    EXPECT_EQ(parse_signal(name), sig) << name;
  }
  EXPECT_FALSE(parse_signal("SIG"));
  EXPECT_FALSE(parse_signal("RTMIN+99"));
}

TEST(Proc, StatFieldsCountFromTheCommandName) {
  EXPECT_EQ(proc_stat_field(::getpid(), 3), "R");
  EXPECT_EQ(proc_stat_field(::getpid(), 4), std::to_string(::getppid()));
  EXPECT_FALSE(proc_stat_field(::getpid(), 2));
  EXPECT_FALSE(proc_stat_field(::getpid(), 500));
}

TEST(Proc, StartTimeOfThisProcessIsStableAndOfNoProcessIsAbsent) {
  auto first = process_start_time(::getpid());
  ASSERT_TRUE(first);
  EXPECT_EQ(process_start_time(::getpid()), first);
  EXPECT_FALSE(process_start_time(0x7ffffff0));
}

// Between two equal readings of boot_clock_ticks a child started in that
// tick: /proc must say so, for every child where the readings agree.
TEST(Proc, AChildSpawnedWithinOneTickStartedInIt) {
  int compared = 0;
  for (int i = 0; i < 50 && compared < 10; ++i) {
    const uint64_t before = boot_clock_ticks();
    const auto child = spawn({.argv = {"/bin/sleep", "100"}});
    const uint64_t after = boot_clock_ticks();
    ASSERT_GT(child.pid, 0);
    const auto started = process_start_time(child.pid);
    ::kill(child.pid, SIGKILL);
    ::waitpid(child.pid, nullptr, 0);
    ASSERT_TRUE(started);
    EXPECT_LE(before, *started);
    EXPECT_LE(*started, after);
    if (before != after) continue;  // the child may have started in either tick
    EXPECT_EQ(*started, before);
    ++compared;
  }
  EXPECT_EQ(compared, 10) << "spawns kept straddling a clock tick";
}

TEST(Files, SafeNames) {
  for (auto good : {"coder", "val-1", "a.b", "x_y", "caf\xc3\xa9"}) {
    EXPECT_TRUE(is_safe_name(good)) << good;
  }
  for (auto bad :
       {"", ".", "..", ".hidden", "a/b", "a\nb", "bad\xff", "\xc0\xaf", "\xed\xa0\x80"}) {
    EXPECT_FALSE(is_safe_name(bad)) << bad;
  }
  EXPECT_FALSE(is_safe_name(std::string(256, 'a')));
  EXPECT_TRUE(svctl::valid_service_name("coder/log"));
  EXPECT_FALSE(svctl::valid_service_name("coder/../x"));
  EXPECT_FALSE(svctl::valid_service_name("../x"));
}

TEST(Files, AtomicWriteReplacesWholeAndLeavesNoTemp) {
  test::Sandbox sandbox;
  const std::string target = sandbox.path("f.json");
  ASSERT_FALSE(write_file_atomic(target, "one", Durability::durable));
  ASSERT_FALSE(write_file_atomic(target, "two", Durability::runtime));
  EXPECT_EQ(test::read_text(target), "two");
  EXPECT_FALSE(path_exists(target + ".tmp"));
  auto failure = write_file_atomic(sandbox.path("missing/f"), "x", Durability::durable);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->errnum, ENOENT);
}

TEST(Files, MakeDirsCreatesParentsSetsTheModeAndRefusesAFile) {
  test::Sandbox sandbox;
  const mode_t old_umask = ::umask(077);
  const std::string deep = sandbox.path("a/b/c");
  EXPECT_FALSE(make_dirs(deep, 0750));
  EXPECT_FALSE(make_dirs(sandbox.path("one"), 0755));
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat(deep.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat(sandbox.path("one").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_FALSE(make_dirs(deep, 0700));  // there already: left as it is
  ASSERT_EQ(::stat(deep.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  sandbox.write("file", "x");
  auto refused = make_dirs(sandbox.path("file"));
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->line.find("File exists"), std::string::npos) << refused->line;
}

TEST(Files, ReadingNeverHangsAndIsCapped) {
  test::Sandbox sandbox;
  ASSERT_EQ(::mkfifo(sandbox.path("fifo").c_str(), 0600), 0);
  auto fifo = read_small_file(sandbox.path("fifo"), 100);
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().line.find("is a FIFO, not a regular file"), std::string::npos);
  auto folder = read_small_file(sandbox.root(), 100);
  ASSERT_FALSE(folder);
  EXPECT_NE(folder.error().line.find("is a folder"), std::string::npos);
  auto device = read_small_file("/dev/zero", 100);
  ASSERT_FALSE(device);
  EXPECT_NE(device.error().line.find("is a device"), std::string::npos);
  sandbox.write("big", std::string(101, 'x'));
  auto big = read_small_file(sandbox.path("big"), 100);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().line.find("larger than 100 bytes"), std::string::npos);
  sandbox.write("fits", std::string(100, 'x'));
  EXPECT_EQ(read_small_file(sandbox.path("fits"), 100)->size(), 100u);
  EXPECT_EQ(read_small_file(sandbox.path("none"), 100).error().errnum, ENOENT);
  // /proc files say size 0 and still read whole.
  EXPECT_NE(read_small_file("/proc/self/stat", 4096)->find(')'), std::string::npos);
}

// Straight to their targets, or (a source that is another's target) through
// copies: each target gets its own source either way.
TEST(Spawn, EachFdTargetGetsItsSource) {
  auto run = [](const std::vector<std::pair<int, int>>& fds, const std::string& script) {
    auto spawned = spawn({.argv = {"/bin/sh", "-c", script}, .fds = fds});
    ASSERT_GT(spawned.pid, 0) << std::strerror(spawned.error);
    int ws = 0;
    ASSERT_EQ(::waitpid(spawned.pid, &ws, 0), spawned.pid);
    EXPECT_EQ(ws, 0);
  };
  auto take = [](Pipe& pipe) {
    pipe.write.reset();
    char buffer[64];
    const ssize_t n = ::read(pipe.read.get(), buffer, sizeof buffer);
    return std::string(buffer, size_t(std::max<ssize_t>(n, 0)));
  };
  Pipe out = make_pipe(), err = make_pipe();
  run({{1, out.write.get()}, {2, err.write.get()}}, "echo out; echo err >&2");
  EXPECT_EQ(take(out), "out\n");
  EXPECT_EQ(take(err), "err\n");

  // Sources on fds 8 and 9, swapped: 8 gets what is on 9, and 9 what is on 8.
  for (int fd : {8, 9}) ASSERT_EQ(::fcntl(fd, F_GETFD), -1) << "fd " << fd << " is taken";
  UniqueFd on_nine(::fcntl(1, F_DUPFD_CLOEXEC, 9)), on_eight(::fcntl(1, F_DUPFD_CLOEXEC, 8));
  ASSERT_EQ(on_nine.get(), 9);  // held, so that the pipes get other numbers
  ASSERT_EQ(on_eight.get(), 8);
  Pipe a = make_pipe(), b = make_pipe();
  ASSERT_EQ(::dup3(a.write.get(), 9, O_CLOEXEC), 9);
  ASSERT_EQ(::dup3(b.write.get(), 8, O_CLOEXEC), 8);
  run({{8, 9}, {9, 8}}, "echo one >&8; echo two >&9");
  on_nine.reset();
  on_eight.reset();
  EXPECT_EQ(take(a), "one\n");
  EXPECT_EQ(take(b), "two\n");
}

// What svkit's programs catch, ignore and block does not reach the service:
// its signals start at their defaults, none blocked.
TEST(Spawn, TheChildStartsWithDefaultSignalsAndNoneBlocked) {
  struct sigaction caught {};
  struct sigaction ignored {};
  struct sigaction saved[4];
  caught.sa_handler = [](int) {};
  ignored.sa_handler = SIG_IGN;
  const int changed[] = {SIGTERM, SIGHUP, SIGPIPE, SIGTTOU};
  for (int i = 0; i < 4; ++i) ::sigaction(changed[i], i < 2 ? &caught : &ignored, &saved[i]);
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigaddset(&blocked, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  Pipe out = make_pipe();
  auto spawned = spawn({.argv = {"/bin/cat", "/proc/self/status"}, .fds = {{1, out.write.get()}}});
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  for (int i = 0; i < 4; ++i) ::sigaction(changed[i], &saved[i], nullptr);
  ASSERT_GT(spawned.pid, 0) << std::strerror(spawned.error);
  out.write.reset();
  std::string status;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out.read.get(), buffer, sizeof buffer)) > 0;)
    status.append(buffer, size_t(n));
  int ws = 0;
  ASSERT_EQ(::waitpid(spawned.pid, &ws, 0), spawned.pid);
  EXPECT_EQ(ws, 0);
  EXPECT_NE(status.find("\nSigBlk:\t0000000000000000\n"), std::string::npos) << status;
  EXPECT_NE(status.find("\nSigIgn:\t0000000000000000\n"), std::string::npos) << status;
}

TEST(Spawn, AMissingInterpreterIsNamed) {
  test::Sandbox sandbox;
  sandbox.write("script", "#!/command/with-contenv sh\nexit 0\n", true);
  auto result = spawn({.argv = {"./script"}, .cwd = sandbox.root()});
  ASSERT_LT(result.pid, 0);
  EXPECT_EQ(describe_spawn_error("./script", sandbox.root(), result.error),
            "script: #!/command/with-contenv: interpreter not found");
  sandbox.write("plain", "#!/bin/sh\n");
  result = spawn({.argv = {"./plain"}, .cwd = sandbox.root()});
  EXPECT_EQ(describe_spawn_error("./plain", sandbox.root(), result.error),
            "plain: Permission denied");
}

TEST(StatusFormat, TheFileRoundTripsAndToleratesUnknownFields) {
  test::Sandbox sandbox;
  Status s{.name = "coder",
           .state = RunState::backoff,
           .pid = 12,
           .pid_start_time = 99999999999ull,
           .since_ms = 1'800'000'000'000,
           .ready_since_ms = 0,
           .want = Want::up,
           .normally = Want::down,
           .want_by = WantBy::operator_action,
           .last_exit = ExitInfo{-1, 9, 5},
           .restarts = 4,
           .next_start_ms = 7,
           .delay_ms = 8,
           .reason = "why",
           .health = Health::unhealthy,
           .evidence = "/e.log",
           .errors = {"a", "b"}};
  for (auto last : {std::optional<ExitInfo>(ExitInfo{-1, 9, 5}), std::optional<ExitInfo>()}) {
    s.last_exit = last;
    nlohmann::json j = s;
    EXPECT_EQ(j["want"], "up");
    EXPECT_EQ(j["want_by"], "operator");
    EXPECT_EQ(j["health"], "unhealthy");
    j["future_field"] = {{"nested", {1, 2, {{"x", "y"}}}}};
    sandbox.write("svc/supervise/status.json", j.dump());
    auto read = read_status(sandbox.path("svc"));
    ASSERT_TRUE(read) << read.error().line;
    EXPECT_EQ(*read, s);
  }
  nlohmann::json wrong = s;
  wrong["pid"] = "twelve";
  sandbox.write("svc/supervise/status.json", wrong.dump());
  auto bad = read_status(sandbox.path("svc"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().line.find("bad status file"), std::string::npos) << bad.error().line;
}

namespace {

// Every field away from its default, strings that need escaping.
Status rich_status() {
  return Status{.name = "web \"quoted\" \\ tab\t ✓",
                .state = RunState::halted,
                .pid = 4242,
                .pid_start_time = 18'446'744'073'709'551'615ull,
                .since_ms = -5,
                .ready_since_ms = 1'800'000'000'123,
                .want = Want::up,
                .normally = Want::down,
                .want_by = WantBy::policy,
                .last_exit = ExitInfo{.code = 3, .signal = 0, .at_ms = 77},
                .restarts = 4'000'000'000u,
                .next_start_ms = 9,
                .delay_ms = 10,
                .reason = "line\nbreak \x01 control",
                .health = Health::healthy,
                .health_failures = 2,
                .halt_name = "config-error",
                .halt_intent = nullptr,
                .evidence = "/var/log/svkit/web/evidence-1.log",
                .console_dropped = 11,
                .lock_device = 12,
                .lock_inode = 13,
                .errors = {"one", "two \"2\"", ""}};
}

}  // namespace

// The writer builds no DOM; what it writes is what nlohmann writes.
TEST(StatusFormat, TheDirectWriterWritesWhatTheDomWrites) {
  Status s = rich_status();
  EXPECT_EQ(fields_line(s), json_line(s));
  s.name = "bad\xff utf-8";
  s.last_exit.reset();
  s.health = Health::none;
  s.halt_intent = {{"reason", "disk"}, {"retry", false}};
  s.errors.clear();
  EXPECT_EQ(fields_line(s), json_line(s));
  EXPECT_EQ(fields_line(Status{}), json_line(Status{}));
}

// The reader fills the struct straight from the text, and reads what the DOM
// reads; what it does not take it leaves to the DOM (read_fields: false).
TEST(StatusFormat, TheDirectReaderReadsWhatTheDomReads) {
  std::vector<std::string> texts{fields_line(rich_status()), fields_line(Status{}),
                                 R"({"name":"x","future":{"a":[1,{"b":2}],"c":1.5},"pid":7,)"
                                 R"("last_exit":{"code":1,"later":[3]},"errors":[]})",
                                 R"({"last_exit":{},"state":"a newer word"})", "{}"};
  for (const auto& text : texts) {
    Status direct;
    ASSERT_TRUE(read_fields(text, direct)) << text;
    EXPECT_EQ(direct, nlohmann::json::parse(text).get<Status>())
        << text << "\n"
        << fields_line(direct) << fields_line(nlohmann::json::parse(text).get<Status>());
  }
  EXPECT_EQ(*parse_status(texts[0], "status.json"), rich_status());

  Status halted = rich_status();
  halted.halt_intent = {{"reason", "disk"}};
  Status declined;
  EXPECT_FALSE(read_fields(fields_line(halted), declined));
  auto via_dom = parse_status(fields_line(halted), "status.json");
  ASSERT_TRUE(via_dom) << via_dom.error().line;
  EXPECT_EQ(*via_dom, halted);

  for (const char* shape : {R"({"pid":"7"})", R"({"pid":1.5})", R"({"pid":-1e99})",
                            R"({"restarts":-1})", R"({"errors":[1]})", R"({"errors":"a"})",
                            R"({"last_exit":3})", "[]", "3", R"({"name":"x")"}) {
    Status ignored;
    EXPECT_FALSE(read_fields(shape, ignored)) << shape;
  }
}

TEST(StatusFormat, ANameThatIsNotUtf8IsWrittenNotFatal) {
  Status s{.name = "bad\xff"};
  const std::string line = json_line(s);
  EXPECT_NE(line.find("\"bad\xef\xbf\xbd\""), std::string::npos) << line;
}

TEST(StatusFormat, BadFilesAreNamedErrors) {
  test::Sandbox sandbox;
  auto missing = read_status(sandbox.path("svc"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errnum, ENOENT);
  sandbox.write("svc/supervise/status.json", "{\"name\": \"x\"");
  auto truncated = read_status(sandbox.path("svc"));
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().line.find("not JSON"), std::string::npos);
  sandbox.write("svc/supervise/status.json", "{\"name\": 3}");
  auto mistyped = read_status(sandbox.path("svc"));
  ASSERT_FALSE(mistyped);
  EXPECT_NE(mistyped.error().line.find("bad status file"), std::string::npos);
}

TEST(StatLine, ReadsAtAGlance) {
  const int64_t now = 1'000'000'000;
  Status up;
  up.name = "coder";
  up.state = RunState::up;
  up.pid = 4242;
  up.since_ms = now - 37'000;
  up.ready_since_ms = now - 36'000;
  up.want = Want::up;
  EXPECT_EQ(svctl::stat_line(up, now), "coder: up (pid 4242) 37s, ready, restarts 0");

  Status down;
  down.name = "writer";
  down.state = RunState::down;
  down.since_ms = now - 12'000;
  down.want = Want::down;
  down.want_by = WantBy::operator_action;
  down.last_exit = ExitInfo{0, 0, now - 12'000};
  EXPECT_EQ(svctl::stat_line(down, now),
            "writer: down 12s, normally up, want down (operator), last exit 0");

  Status killed = down;
  killed.name = "k";
  killed.want = Want::up;
  killed.state = RunState::backoff;
  killed.next_start_ms = now + 4000;
  killed.delay_ms = 4000;
  killed.restarts = 3;
  killed.last_exit = ExitInfo{-1, SIGKILL, now};
  EXPECT_EQ(svctl::stat_line(killed, now),
            "k: down 12s, restart in 4s, want up (operator), restarts 3, backoff 4s, last exit "
            "SIGKILL");

  Status broken = up;
  broken.errors = {"timeout-kill: \"x\" is bad", "other"};
  EXPECT_EQ(svctl::stat_line(broken, now),
            "coder: up (pid 4242) 37s, ready, restarts 0, error: timeout-kill: \"x\" is bad (+1 "
            "more)");
}

TEST(Durations, ShortForms) {
  EXPECT_EQ(short_duration(0), "0s");
  EXPECT_EQ(short_duration(119'999), "119s");
  EXPECT_EQ(short_duration(180'000), "3m");
  EXPECT_EQ(short_duration(3 * 3600'000), "3h");
  EXPECT_EQ(short_duration(3 * 86400'000ll), "3d");
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(1'500, true), "1970-01-01T00:00:01.500Z");
}

// Feeds `text` to `out` as one read of `stream`.
Failure feed(supervise::ServiceOutput& out, supervise::Stream stream, std::string_view text) {
  auto [buffer, size] = out.read_buffer();
  EXPECT_LE(text.size(), size);
  std::memcpy(buffer, text.data(), text.size());
  return out.feed(stream, text.size(), 1'800'000'000'123);
}

std::string drain(int fd) {
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, size_t(n));
  return got;
}

TEST(ServiceOutput, StampsLinesJoinsPartsAndRotates) {
  test::Sandbox sandbox;
  supervise::ServiceOutput log(sandbox.path("logs/svc"), "svc", 4096, 2, {});
  using supervise::Stream;
  EXPECT_FALSE(feed(log, Stream::out, "hel"));
  EXPECT_FALSE(feed(log, Stream::err, "oops "));
  EXPECT_FALSE(feed(log, Stream::out, "lo\nwor"));
  EXPECT_FALSE(feed(log, Stream::err, "again\n"));
  std::string text = test::read_text(log.path());
  EXPECT_NE(text.find("2027-01-15T08:00:00.123Z hello\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Z oops again\n"), std::string::npos) << "the streams' partial lines mixed";
  EXPECT_EQ(text.find("wor"), std::string::npos) << "a partial line was written early";
  EXPECT_FALSE(log.flush_partial(1'800'000'000'123));
  EXPECT_NE(test::read_text(log.path()).find("Z wor\n"), std::string::npos);
  for (int i = 0; i < 400; ++i) (void)feed(log, Stream::out, "line " + std::to_string(i) + "\n");
  EXPECT_TRUE(path_exists(log.path() + ".1"));
  EXPECT_TRUE(path_exists(log.path() + ".2"));
  EXPECT_FALSE(path_exists(log.path() + ".3"));
  EXPECT_NE(test::read_text(log.path()).find("line 399"), std::string::npos);
}

TEST(ServiceOutput, TheConsoleGetsWholePrefixedLinesAndLongOnesInMarkedPieces) {
  test::Sandbox sandbox;
  Pipe console = make_pipe(true);
  supervise::ServiceOutput out(sandbox.path("logs/web"), "web", 1 << 20, 2,
                               {.fd = console.write.get()});
  using supervise::Stream;
  EXPECT_FALSE(feed(out, Stream::out, "GET / 200\nhalf"));
  EXPECT_FALSE(feed(out, Stream::out, " line\n" + std::string(10000, 'x') + "\n"));
  const std::string got = drain(console.read.get());
  EXPECT_TRUE(got.starts_with("web | GET / 200\nweb | half line\nweb |+ xxx")) << got.substr(0, 80);
  size_t pieces = 0;
  for (size_t at = 0; (at = got.find("\nweb |", at)) != std::string::npos; ++at) ++pieces;
  EXPECT_EQ(pieces, 4u) << "10,000 bytes: three pieces after the two short lines";
  EXPECT_EQ(std::count(got.begin(), got.end(), 'x'), 10000);
}

TEST(ServiceOutput, JsonLinesParse) {
  test::Sandbox sandbox;
  Pipe console = make_pipe(true);
  supervise::ServiceOutput out(
      sandbox.path("logs/web"), "web", 1 << 20, 2,
      {.fd = console.write.get(), .format = supervise::Console::Format::json});
  EXPECT_FALSE(feed(out, supervise::Stream::err, "a \"quoted\"\tline \xff\n"));
  const std::string got = drain(console.read.get());
  auto j = nlohmann::json::parse(got);
  EXPECT_EQ(j["service"], "web");
  EXPECT_EQ(j["stream"], "stderr");
  EXPECT_EQ(j["ts"], "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(j["line"], "a \"quoted\"\tline \xef\xbf\xbd");
}

TEST(ServiceOutput, AFullConsoleDropsCopiesCountsThemAndSaysSoLater) {
  test::Sandbox sandbox;
  Pipe console = make_pipe(true);
  ::fcntl(console.write.get(), F_SETFL, ::fcntl(console.write.get(), F_GETFL) | O_NONBLOCK);
  supervise::ServiceOutput out(sandbox.path("logs/web"), "web", 1 << 30, 2,
                               {.fd = console.write.get()});
  const std::string line(99, 'y');
  size_t fed = 0;
  while (!out.console_stalled() || fed < 2000) {
    std::string batch;
    for (int i = 0; i < 100; ++i) batch += line + "\n";
    ASSERT_FALSE(feed(out, supervise::Stream::out, batch));
    fed += 100;
  }
  EXPECT_FALSE(out.console_must_wait()) << "the file log works: copies are dropped, not kept";
  const std::string shown = drain(console.read.get());
  const size_t shown_lines = size_t(std::count(shown.begin(), shown.end(), '\n'));
  EXPECT_EQ(shown_lines + out.console_dropped(), fed);
  out.console_writable();
  const std::string notice = drain(console.read.get());
  EXPECT_NE(notice.find("web | [svkit: " + std::to_string(out.console_dropped()) +
                        " lines not shown here; the service log has them all: "),
            std::string::npos)
      << notice;
  const std::string file = test::read_text(out.path());
  EXPECT_EQ(size_t(std::count(file.begin(), file.end(), '\n')), fed) << "the file log lost lines";
}

// No file log: the console is the only record, so nothing is dropped: what
// does not fit waits (and the caller stops reading the service).
TEST(ServiceOutput, WithoutAFileLogNothingIsDroppedItWaits) {
  test::Sandbox sandbox;
  sandbox.write("not-a-folder", "");
  Pipe console = make_pipe(true);
  ::fcntl(console.write.get(), F_SETFL, ::fcntl(console.write.get(), F_GETFL) | O_NONBLOCK);
  supervise::ServiceOutput out(sandbox.path("not-a-folder/web"), "web", 1 << 20, 2,
                               {.fd = console.write.get()});
  const std::string line(99, 'z');
  size_t fed = 0;
  bool reported = false;
  while (!out.console_must_wait()) {
    std::string batch;
    for (int i = 0; i < 100; ++i) batch += line + "\n";
    reported |= feed(out, supervise::Stream::out, batch).has_value();
    fed += 100;
  }
  EXPECT_TRUE(reported) << "the file log's failure was not said";
  EXPECT_EQ(out.console_dropped(), 0u);
  std::string shown;
  while (out.console_must_wait()) {
    shown += drain(console.read.get());
    out.console_writable();
  }
  shown += drain(console.read.get());
  EXPECT_EQ(size_t(std::count(shown.begin(), shown.end(), '\n')), fed) << "lines were dropped";
}

TEST(PolicyParsers, RestartHaltCodesAndHealthAction) {
  std::vector<std::string> errors;
  using supervise::RestartPolicy;
  EXPECT_EQ(supervise::parse_restart_policy("never\n", errors)->policy, RestartPolicy::Kind::never);
  auto limited = supervise::parse_restart_policy("on-failure:2", errors);
  EXPECT_EQ(limited->policy, RestartPolicy::Kind::on_failure);
  EXPECT_EQ(limited->max_restarts, 2u);
  EXPECT_FALSE(supervise::parse_restart_policy("on-failure", errors)->max_restarts);
  EXPECT_TRUE(errors.empty());
  for (auto bad : {"sometimes", "on-failure:", "on-failure:-1", "on-failure:x", "Always"}) {
    EXPECT_FALSE(supervise::parse_restart_policy(bad, errors)) << bad;
  }
  EXPECT_EQ(errors.size(), 5u);
  errors.clear();
  using Codes = supervise::HaltCodes;
  EXPECT_EQ(supervise::parse_halt_codes("70 71\n72,73", errors),
            (Codes{{70, ""}, {71, ""}, {72, ""}, {73, ""}}));
  EXPECT_EQ(supervise::parse_halt_codes("0 256 x 9", errors), (Codes{{9, ""}}));
  EXPECT_EQ(supervise::parse_halt_codes("70\n71 upgrade-height-reached\n72 x y", errors),
            (Codes{{70, ""}, {71, "upgrade-height-reached"}, {72, "x"}}));
  EXPECT_EQ(errors.size(), 4u);
  EXPECT_EQ(supervise::parse_health_action("restart", errors), true);
  EXPECT_EQ(supervise::parse_health_action("none", errors), false);
  EXPECT_FALSE(supervise::parse_health_action("reboot", errors));
}

class Verdicts : public ::testing::Test {
 protected:
  using Kind = supervise::Verdict::Kind;
  supervise::ServiceConfig config;

  static supervise::Death died(ExitInfo exit, int64_t uptime_ms = 100) {
    return {.pid = 42, .exit = exit, .uptime_ms = uptime_ms};
  }
  supervise::Verdict judge(const supervise::Death& death, supervise::RestartHistory history = {},
                           Want want = Want::up) {
    return supervise::judge(config, want, death, history);
  }
  const ExitInfo crash{1, 0, 0};
  const ExitInfo clean{0, 0, 0};
  const ExitInfo killed{-1, SIGKILL, 0};
};

TEST_F(Verdicts, QuickDeathsDoubleTheDelayUpToTheCap) {
  config.restart_min_interval_ms = 1000;
  config.restart_max_delay_ms = 60000;
  supervise::RestartHistory history;
  std::vector<int64_t> delays;
  for (int i = 0; i < 9; ++i) {
    auto v = judge(died(crash, 200), history);
    ASSERT_EQ(v.kind, Kind::restart_later);
    EXPECT_TRUE(v.evidence);
    EXPECT_TRUE(v.counted);
    delays.push_back(v.delay_ms);
    history = v.history;
  }
  EXPECT_EQ(delays,
            (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
}

TEST_F(Verdicts, AStableRunResetsTheBackoff) {
  auto v = judge(died(crash, 10'000), {7, 0});
  EXPECT_EQ(v.kind, Kind::restart_now);
  EXPECT_EQ(v.delay_ms, 0);
  EXPECT_EQ(v.history.quick_deaths, 0u);
}

TEST_F(Verdicts, HaltCodesHaltAndSignalsNever) {
  config.halt_codes = {{70, ""}, {71, ""}, {72, "upgrade-height-reached"}};
  auto v = judge(died(ExitInfo{71, 0, 0}));
  EXPECT_EQ(v.kind, Kind::halt);
  EXPECT_EQ(v.reason, "halted on purpose (exit 71)");
  EXPECT_TRUE(v.evidence);
  EXPECT_EQ(judge(died(ExitInfo{72, 0, 0})).reason,
            "halted on purpose (exit 72: upgrade-height-reached)");
  EXPECT_EQ(judge(died(crash)).kind, Kind::restart_later);
  EXPECT_EQ(judge(died(ExitInfo{-1, 71, 0})).kind, Kind::restart_later);
}

TEST_F(Verdicts, OnFailureCountsFailuresAndStopsOnCleanExit) {
  config.restart = {supervise::RestartPolicy::Kind::on_failure, 2};
  supervise::RestartHistory history;
  for (int i = 0; i < 2; ++i) {
    auto v = judge(died(i ? killed : crash), history);
    EXPECT_EQ(v.kind, Kind::restart_later);
    history = v.history;
  }
  auto last = judge(died(crash), history);
  EXPECT_EQ(last.kind, Kind::give_up);
  EXPECT_NE(last.reason.find("gave up after 2 restarts"), std::string::npos);
  auto stop = judge(died(clean));
  EXPECT_EQ(stop.kind, Kind::policy_stop);
  EXPECT_FALSE(stop.evidence) << "a clean exit that ends the runs is no evidence";
  config.restart = {supervise::RestartPolicy::Kind::never, std::nullopt};
  EXPECT_EQ(judge(died(crash)).kind, Kind::policy_stop);
  EXPECT_TRUE(judge(died(crash)).evidence);
}

TEST_F(Verdicts, AnOperatorsStopIsNoCrash) {
  config.halt_codes = {{71, ""}};
  auto restarted = judge({.pid = 42, .exit = killed, .expected = true, .uptime_ms = 1}, {5, 5});
  EXPECT_EQ(restarted.kind, Kind::restart_now);
  EXPECT_FALSE(restarted.evidence);
  EXPECT_FALSE(restarted.counted);
  EXPECT_EQ(restarted.history.quick_deaths, 0u) << "an operator's restart clears the count";
  auto stopped =
      judge({.pid = 42, .exit = ExitInfo{-1, SIGTERM, 0}, .expected = true}, {}, Want::down);
  EXPECT_EQ(stopped.kind, Kind::rest);
  EXPECT_FALSE(stopped.evidence);
}

TEST_F(Verdicts, AOnceServiceRestsAndItsCrashIsEvidence) {
  auto crashed = judge(died(crash), {}, Want::down);
  EXPECT_EQ(crashed.kind, Kind::rest);
  EXPECT_TRUE(crashed.evidence);
  EXPECT_FALSE(judge(died(clean), {}, Want::down).evidence);
}

TEST_F(Verdicts, Finish125IsAPermanentFailureWithEvidence) {
  auto d = died(crash);
  d.finish_code = 125;
  auto v = judge(d);
  EXPECT_EQ(v.kind, Kind::fail);
  EXPECT_TRUE(v.evidence);
  EXPECT_NE(v.reason.find("permanent failure"), std::string::npos);
}

TEST_F(Verdicts, AFailedStartFollowsThePolicyAndNeverSpins) {
  config.restart_min_interval_ms = 0;
  const supervise::Death failed{.start_error = "run: Permission denied"};
  auto v = judge(failed);
  EXPECT_EQ(v.kind, Kind::restart_later);
  EXPECT_GE(v.delay_ms, 1000) << "a start that fails is not retried in a tight loop";
  EXPECT_TRUE(v.evidence);
  EXPECT_EQ(failed.slug(), "start-failed");
  EXPECT_EQ(failed.describe(), "cannot start run: Permission denied");
  config.restart = {supervise::RestartPolicy::Kind::never, std::nullopt};
  EXPECT_EQ(judge(failed).kind, Kind::policy_stop);
}

TEST(OutputRing, KeepsTheLastBytesInOrder) {
  supervise::OutputRing ring(8);
  EXPECT_EQ(ring.contents(), "");
  ring.append("abc");
  EXPECT_EQ(ring.contents(), "abc");
  ring.append("defgh");
  EXPECT_EQ(ring.contents(), "abcdefgh");
  ring.append("ij");
  EXPECT_EQ(ring.contents(), "cdefghij");
  ring.append("klmnopqrstuv");
  EXPECT_EQ(ring.contents(), "opqrstuv");
  ring.append("w");
  EXPECT_EQ(ring.contents(), "pqrstuvw");
}

}  // namespace
}  // namespace svkit
