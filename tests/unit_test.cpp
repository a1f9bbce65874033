// Unit tests of every parser and file format.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/proc.hpp"
#include "../lib/status.hpp"
#include "../supervise/config.hpp"
#include "../supervise/evidence.hpp"
#include "../supervise/output_log.hpp"
#include "../supervise/restart_policy.hpp"
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

TEST(Signals, NamesRoundTrip) {
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGUSR1"), SIGUSR1);
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_FALSE(parse_signal("SIG"));
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

TEST(Files, SafeNames) {
  for (auto good : {"coder", "val-1", "a.b", "x_y"}) EXPECT_TRUE(is_safe_name(good)) << good;
  for (auto bad : {"", ".", "..", ".hidden", "a/b", "a\nb"}) EXPECT_FALSE(is_safe_name(bad)) << bad;
  EXPECT_FALSE(is_safe_name(std::string(256, 'a')));
  EXPECT_TRUE(svctl::valid_service_name("coder/log"));
  EXPECT_FALSE(svctl::valid_service_name("coder/../x"));
  EXPECT_FALSE(svctl::valid_service_name("../x"));
}

TEST(Files, AtomicWriteReplacesWholeAndLeavesNoTemp) {
  test::Sandbox sandbox;
  const std::string target = sandbox.path("f.json");
  ASSERT_EQ(write_file_atomic(target, "one", true), "");
  ASSERT_EQ(write_file_atomic(target, "two", false), "");
  EXPECT_EQ(test::read_text(target), "two");
  EXPECT_FALSE(path_exists(target + ".tmp"));
  EXPECT_NE(write_file_atomic(sandbox.path("missing/f"), "x", true), "");
}

TEST(Files, DirnameAndBasename) {
  EXPECT_EQ(dirname_of("/a/b/c"), "/a/b");
  EXPECT_EQ(dirname_of("/a/b/c/"), "/a/b");
  EXPECT_EQ(dirname_of("c"), ".");
  EXPECT_EQ(dirname_of("/c"), "/");
  EXPECT_EQ(basename_of("/a/b/c/"), "c");
  EXPECT_EQ(basename_of("c"), "c");
}

TEST(StatusFormat, RoundTripsThroughJson) {
  Status s;
  s.name = "coder";
  s.state = RunState::halted;
  s.pid = 0;
  s.since_ms = 123;
  s.want_up = true;
  s.want_by = "operator";
  s.last_exit = ExitInfo{71, 0, 100};
  s.restarts = 2;
  s.errors = {"x"};
  nlohmann::json j = s;
  EXPECT_EQ(j.get<Status>(), s);
  EXPECT_EQ(j["state"], "halted");
  EXPECT_EQ(j["want"], "up");
}

TEST(StatusFormat, TheFastReaderAgreesWithTheJsonFormat) {
  test::Sandbox sandbox;
  Status s;
  s.name = "coder";
  s.state = RunState::backoff;
  s.pid = 12;
  s.pid_start_time = 99999999999ull;
  s.since_ms = 1'800'000'000'000;
  s.want_up = true;
  s.normally_up = false;
  s.once = true;
  s.want_by = "operator";
  s.last_exit = ExitInfo{-1, 9, 5};
  s.restarts = 4;
  s.next_start_ms = 7;
  s.delay_ms = 8;
  s.reason = "why";
  s.health = "unhealthy";
  s.evidence = "/e.log";
  s.errors = {"a", "b"};
  for (auto last : {std::optional<ExitInfo>(ExitInfo{-1, 9, 5}), std::optional<ExitInfo>()}) {
    s.last_exit = last;
    nlohmann::json j = s;
    j["future_field"] = {{"nested", {1, 2, {{"x", "y"}}}}};
    j["future_list"] = {1, "two"};
    sandbox.write("svc/supervise/status.json", j.dump());
    std::string error;
    auto read = read_status(sandbox.path("svc"), &error);
    ASSERT_TRUE(read) << error;
    EXPECT_EQ(*read, s);
  }
  nlohmann::json missing = s;
  missing.erase("restarts");
  sandbox.write("svc/supervise/status.json", missing.dump());
  std::string error;
  EXPECT_FALSE(read_status(sandbox.path("svc"), &error));
  EXPECT_NE(error.find("missing fields"), std::string::npos) << error;
  nlohmann::json wrong = s;
  wrong["pid"] = "twelve";
  sandbox.write("svc/supervise/status.json", wrong.dump());
  EXPECT_FALSE(read_status(sandbox.path("svc"), &error));
  EXPECT_NE(error.find("\"pid\" has the wrong type"), std::string::npos) << error;
  wrong = s;
  wrong["state"] = "sideways";
  sandbox.write("svc/supervise/status.json", wrong.dump());
  EXPECT_FALSE(read_status(sandbox.path("svc"), &error));
}

TEST(StatusFormat, BadFilesAreNamedErrors) {
  test::Sandbox sandbox;
  std::string error;
  EXPECT_FALSE(read_status(sandbox.path("svc"), &error));
  EXPECT_NE(error.find("no status file"), std::string::npos);
  sandbox.write("svc/supervise/status.json", "{\"name\": \"x\"");
  EXPECT_FALSE(read_status(sandbox.path("svc"), &error));
  EXPECT_NE(error.find("not JSON"), std::string::npos);
  sandbox.write("svc/supervise/status.json", "{\"name\": 3}");
  EXPECT_FALSE(read_status(sandbox.path("svc"), &error));
  EXPECT_NE(error.find("bad status file"), std::string::npos);
}

TEST(StatLine, ReadsAtAGlance) {
  const int64_t now = 1'000'000'000;
  Status up;
  up.name = "coder";
  up.state = RunState::up;
  up.pid = 4242;
  up.since_ms = now - 37'000;
  up.ready_since_ms = now - 36'000;
  up.want_up = true;
  EXPECT_EQ(svctl::stat_line(up, now), "coder: up (pid 4242) 37s, ready, restarts 0");

  Status down;
  down.name = "writer";
  down.state = RunState::down;
  down.since_ms = now - 12'000;
  down.want_up = false;
  down.want_by = "operator";
  down.last_exit = ExitInfo{0, 0, now - 12'000};
  EXPECT_EQ(svctl::stat_line(down, now),
            "writer: down 12s, normally up, want down (operator), last exit 0");

  Status killed = down;
  killed.name = "k";
  killed.want_up = true;
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

TEST(OutputLog, StampsLinesJoinsPartsAndRotates) {
  test::Sandbox sandbox;
  supervise::OutputLog log(sandbox.path("logs/svc"), 4096, 2);
  EXPECT_EQ(log.append("hel"), "");
  EXPECT_EQ(log.append("lo\nwor"), "");
  std::string text = test::read_text(log.path());
  EXPECT_NE(text.find("Z hello\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("wor"), std::string::npos) << "a partial line was written early";
  EXPECT_EQ(log.flush_partial(), "");
  EXPECT_NE(test::read_text(log.path()).find("Z wor\n"), std::string::npos);
  for (int i = 0; i < 400; ++i) log.append("line " + std::to_string(i) + "\n");
  EXPECT_TRUE(path_exists(log.path() + ".1"));
  EXPECT_TRUE(path_exists(log.path() + ".2"));
  EXPECT_FALSE(path_exists(log.path() + ".3"));
  EXPECT_NE(test::read_text(log.path()).find("line 399"), std::string::npos);
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
  EXPECT_EQ(supervise::parse_halt_codes("70 71\n72,73", errors), (std::set<int>{70, 71, 72, 73}));
  EXPECT_EQ(supervise::parse_halt_codes("0 256 x 9", errors), std::set<int>{9});
  EXPECT_EQ(errors.size(), 3u);
  EXPECT_EQ(supervise::parse_health_action("restart", errors), true);
  EXPECT_EQ(supervise::parse_health_action("none", errors), false);
  EXPECT_FALSE(supervise::parse_health_action("reboot", errors));
}

class RestartDecisions : public ::testing::Test {
 protected:
  using Kind = supervise::RestartDecision::Kind;
  supervise::ServiceConfig config;
  const ExitInfo crash{1, 0, 0};
  const ExitInfo clean{0, 0, 0};
  const ExitInfo killed{-1, SIGKILL, 0};
};

TEST_F(RestartDecisions, QuickDeathsDoubleTheDelayUpToTheCap) {
  config.restart_min_interval_ms = 1000;
  config.restart_max_delay_ms = 60000;
  supervise::RestartHistory history;
  std::vector<int64_t> delays;
  for (int i = 0; i < 9; ++i) {
    auto d = supervise::decide_restart(config, crash, 200, history);
    ASSERT_EQ(d.kind, Kind::restart);
    delays.push_back(d.delay_ms);
    history = d.history;
  }
  EXPECT_EQ(delays,
            (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
}

TEST_F(RestartDecisions, AStableRunResetsTheBackoff) {
  supervise::RestartHistory history{7, 0};
  auto d = supervise::decide_restart(config, crash, 10'000, history);
  EXPECT_EQ(d.kind, Kind::restart);
  EXPECT_EQ(d.delay_ms, 0);
  EXPECT_EQ(d.history.quick_deaths, 0u);
}

TEST_F(RestartDecisions, HaltCodesHaltAndSignalsNever) {
  config.halt_codes = {70, 71, 72};
  auto d = supervise::decide_restart(config, ExitInfo{71, 0, 0}, 100, {});
  EXPECT_EQ(d.kind, Kind::halt);
  EXPECT_EQ(d.reason, "halted on purpose (exit 71)");
  EXPECT_EQ(supervise::decide_restart(config, crash, 100, {}).kind, Kind::restart);
  EXPECT_EQ(supervise::decide_restart(config, ExitInfo{-1, 71, 0}, 100, {}).kind, Kind::restart);
}

TEST_F(RestartDecisions, OnFailureCountsFailuresAndStopsOnCleanExit) {
  config.restart = {supervise::RestartPolicy::Kind::on_failure, 2};
  supervise::RestartHistory history;
  for (int i = 0; i < 2; ++i) {
    auto d = supervise::decide_restart(config, i ? killed : crash, 100, history);
    EXPECT_EQ(d.kind, Kind::restart);
    history = d.history;
  }
  auto last = supervise::decide_restart(config, crash, 100, history);
  EXPECT_EQ(last.kind, Kind::give_up);
  EXPECT_NE(last.reason.find("gave up after 2 restarts"), std::string::npos);
  EXPECT_EQ(supervise::decide_restart(config, clean, 100, {}).kind, Kind::stop);
  config.restart = {supervise::RestartPolicy::Kind::never, std::nullopt};
  EXPECT_EQ(supervise::decide_restart(config, crash, 100, {}).kind, Kind::stop);
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
