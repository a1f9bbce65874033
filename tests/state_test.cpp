// Unit tests of persisted state: the state file, the planned-stop marker
// rules, pid records, and reconcile's log line.
#include <gtest/gtest.h>
#include <unistd.h>

#include "../lib/files.hpp"
#include "../lib/instance.hpp"
#include "../lib/proc.hpp"
#include "../reconcile/reconciler.hpp"
#include "../state/planned_stop.hpp"
#include "../state/profile_state.hpp"
#include "../state/runtime_record.hpp"
#include "harness.hpp"

namespace svkit::state {
namespace {

TEST(ProfileStateFile, RoundTripsAndIsDurablyReplaced) {
  test::Sandbox sb;
  ProfileState s;
  s.want_up = false;
  s.by = "svctl down";
  s.updated_at = "2026-11-26T21:00:00Z";
  s.last = Observation{Observation::Event::exited, 5, 42, 0, 0, "abc"};
  const std::string path = sb.path("state.json");
  ASSERT_FALSE(write_profile_state(path, s));
  auto read = read_profile_state(path);
  ASSERT_EQ(read.outcome, ReadOutcome::ok) << read.error;
  EXPECT_EQ(read.state, s);
  EXPECT_FALSE(path_exists(path + ".tmp"));
  EXPECT_NE(test::read_text(path).find("\"want\":\"down\""), std::string::npos);
}

TEST(ProfileStateFile, EveryKindOfBadFileIsANamedErrorAndWantDown) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"   \n", "empty"},
      {"{\"schema\": 1, \"want\": \"up\"", "not JSON"},
      {"want=up", "not JSON"},
      {"[1,2]", "invalid"},
      {"{\"schema\": 1, \"want\": 7, \"updated_at\": \"\", \"by\": \"\"}", "invalid"},
      {"{\"schema\": 2, \"want\": \"up\", \"updated_at\": \"\", \"by\": \"\"}", "unknown schema"},
      {"{\"schema\": 1, \"want\": \"sideways\", \"updated_at\": \"\", \"by\": \"\"}", "want must"},
      {"{\"schema\": 1, \"want\": \"up\"}", "invalid"},
  };
  for (auto [text, expected] : cases) {
    auto read = parse_profile_state(text);
    EXPECT_EQ(read.outcome, ReadOutcome::corrupt) << text;
    EXPECT_FALSE(read.state.want_up) << text;
    EXPECT_NE(read.error.find(expected), std::string::npos) << text << " → " << read.error;
  }
  test::Sandbox sb;
  auto missing = read_profile_state(sb.path("nothing.json"));
  EXPECT_EQ(missing.outcome, ReadOutcome::missing);
  EXPECT_FALSE(missing.state.want_up);
}

TEST(ProfileStateFile, WantAndObservationDoNotOverwriteEachOther) {
  test::Sandbox sb;
  (void)make_dirs(sb.state_dir() + "/profiles/p/service");
  ASSERT_FALSE(set_want(sb.state_dir(), "p", true, by::kSvctlAdd));
  ASSERT_FALSE(
      record_observation(sb.state_dir(), "p", {Observation::Event::started, 1, 10, -1, 0, "i1"}));
  ASSERT_FALSE(set_want(sb.state_dir(), "p", false, by::kSvctlDown));
  ASSERT_FALSE(
      record_observation(sb.state_dir(), "p", {Observation::Event::exited, 2, 10, -1, 15, "i1"}));
  auto read = read_profile_state(state_file(sb.state_dir(), "p"));
  ASSERT_EQ(read.outcome, ReadOutcome::ok);
  EXPECT_FALSE(read.state.want_up);
  EXPECT_EQ(read.state.by, "svctl down");
  ASSERT_TRUE(read.state.last);
  EXPECT_EQ(read.state.last->event, Observation::Event::exited);
  EXPECT_EQ(read.state.last->signal, 15);
}

TEST(ProfileStateFile, AnObservationNeverInventsOrRepairsAnIntent) {
  test::Sandbox sb;
  (void)make_dirs(sb.state_dir() + "/profiles/p/service");
  const Observation started{Observation::Event::started, 1, 10, -1, 0, "i"};
  ASSERT_FALSE(record_observation(sb.state_dir(), "p", started));
  EXPECT_FALSE(path_exists(state_file(sb.state_dir(), "p")));
  sb.write(state_file(sb.state_dir(), "p"), "garbage");
  ASSERT_FALSE(record_observation(sb.state_dir(), "p", started));
  EXPECT_EQ(test::read_text(state_file(sb.state_dir(), "p")), "garbage");
}

class MarkerRules : public ::testing::Test {
 protected:
  static std::string marker(pid_t pid, uint64_t start, int64_t written) {
    nlohmann::json j = PlannedStop{pid, start, written};
    return j.dump();
  }
  const int64_t now = 1'800'000'000'000;
};

TEST_F(MarkerRules, MatchingPidAndStartTimeIsAnOperatorStop) {
  EXPECT_EQ(judge_marker(marker(42, 777, now - 1000), 42, 777, now), MarkerVerdict::operator_stop);
}

TEST_F(MarkerRules, NoMarkerMeansSignalInitiated) {
  EXPECT_EQ(judge_marker(Error{"gone", ENOENT}, 42, 777, now), MarkerVerdict::absent);
  EXPECT_EQ(judge_marker(Error{"a FIFO", EINVAL}, 42, 777, now), MarkerVerdict::malformed);
}

TEST_F(MarkerRules, OlderThanSixtySecondsIsExpired) {
  EXPECT_EQ(judge_marker(marker(42, 777, now - 60'001), 42, 777, now), MarkerVerdict::expired);
  EXPECT_EQ(judge_marker(marker(42, 777, now - 60'000), 42, 777, now),
            MarkerVerdict::operator_stop);
  EXPECT_EQ(judge_marker(marker(42, 777, now + 3'600'000), 42, 777, now), MarkerVerdict::expired);
}

TEST_F(MarkerRules, MalformedMarkersAreIgnored) {
  for (auto text : {"", "{", "{\"pid\": 42}",
                    "{\"pid\": \"42\", \"start_time\": 1, "
                    "\"written_at_ms\": 1}",
                    "[]",
                    "{\"pid\": 0, \"start_time\": 777, "
                    "\"written_at_ms\": 1800000000000}"}) {
    EXPECT_EQ(judge_marker(std::string(text), 42, 777, now), MarkerVerdict::malformed) << text;
  }
}

TEST_F(MarkerRules, AnotherPidOrAnotherStartTimeIsAnotherProcess) {
  EXPECT_EQ(judge_marker(marker(43, 777, now), 42, 777, now), MarkerVerdict::other_process);
  EXPECT_EQ(judge_marker(marker(42, 778, now), 42, 777, now), MarkerVerdict::other_process);
}

TEST(PidRecords, LiveOnlyForThisInstanceThisPidAndThisStartTime) {
  const pid_t self = ::getpid();
  const uint64_t start = *process_start_time(self);
  EXPECT_TRUE(is_live({self, start, "inst"}, "inst"));
  EXPECT_FALSE(is_live({self, start, "old"}, "inst")) << "a record from another instance";
  EXPECT_FALSE(is_live({self, start + 1, "inst"}, "inst")) << "a reused pid number";
  EXPECT_FALSE(is_live({0x7ffffff0, start, "inst"}, "inst")) << "a dead pid";
  EXPECT_FALSE(is_live({self, start, ""}, "")) << "no instance id at all";
}

TEST(InstanceId, CreatedOnceThenReadAndFreshWhenAsked) {
  test::Sandbox sb;
  const std::string id = *ensure_instance_id(sb.rundir());
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(*ensure_instance_id(sb.rundir()), id);
  EXPECT_EQ(read_instance_id(sb.rundir()), id);
  const std::string fresh = *write_fresh_instance_id(sb.rundir());
  EXPECT_NE(fresh, id);
  EXPECT_EQ(read_instance_id(sb.rundir()), fresh);
}

// Two processes at once on one profile: an operator flipping `want`, and
// supervise recording observations. Each re-reads the file after its own
// write: without the profile lock the other's read-modify-write can put back
// a stale value (a lost update), and one of them sees it.
TEST(ProfileStateFile, TwoWritersInTwoProcessesLoseNoUpdate) {
  test::Sandbox sb;
  (void)(void)make_dirs(sb.state_dir() + "/profiles/p/service");
  ASSERT_FALSE(set_want(sb.state_dir(), "p", true, by::kSvctlAdd));
  const std::string path = state_file(sb.state_dir(), "p");
  constexpr int kRounds = 300;
  auto operator_process = [&] {
    for (int i = 0; i < kRounds; ++i) {
      const bool want = i % 2 == 0;
      if (set_want(sb.state_dir(), "p", want, by::kSvctlUp)) return 2;
      if (read_profile_state(path).state.want_up != want) return 1;
    }
    return 0;
  };
  auto supervise_process = [&] {
    for (int i = 1; i <= kRounds; ++i) {
      if (record_observation(sb.state_dir(), "p",
                             {Observation::Event::started, i, pid_t(i), -1, 0, "inst"})) {
        return 2;
      }
      auto read = read_profile_state(path);
      if (!read.state.last || read.state.last->pid < i) return 1;
    }
    return 0;
  };
  const pid_t a = ::fork();
  if (a == 0) ::_exit(operator_process());
  const pid_t b = ::fork();
  if (b == 0) ::_exit(supervise_process());
  EXPECT_EQ(test::wait_child(a), 0) << "the operator's want was overwritten by a stale copy";
  EXPECT_EQ(test::wait_child(b), 0) << "an observation was overwritten by a stale copy";
  auto final_state = read_profile_state(path);
  ASSERT_EQ(final_state.outcome, ReadOutcome::ok);
  EXPECT_EQ(final_state.state.last->pid, kRounds);
}

TEST(BootLog, LogfmtLineQuotesWhatNeedsIt) {
  reconcile::Outcome o;
  o.profile = "coder";
  o.prior_state = "up";
  o.action = "started";
  o.prior_exit = "unclean";
  o.swept = 2;
  EXPECT_EQ(reconcile::logfmt_line("2026-11-26T21:00:00Z", o),
            "ts=2026-11-26T21:00:00Z profile=coder prior_state=up action=started "
            "prior_exit=unclean swept=2");
  o.action = "failed";
  o.error = "cannot copy \"x\"";
  EXPECT_NE(reconcile::logfmt_line("t", o).find(" error=\"cannot copy \\\"x\\\"\""),
            std::string::npos);
}

TEST(BootLog, RotatesPast256KiBKeepingOneOldFile) {
  test::Sandbox sb;
  const std::string line(1000, 'x');
  for (int i = 0; i < 600; ++i)
    ASSERT_FALSE(reconcile::append_boot_log(sb.state_dir(), line + "\n"));
  EXPECT_TRUE(path_exists(sb.state_dir() + "/logs/boot.log.1"));
  EXPECT_FALSE(path_exists(sb.state_dir() + "/logs/boot.log.2"));
  EXPECT_LE(test::read_text(sb.state_dir() + "/logs/boot.log").size(), 256u * 1024 + 1001);
}

}  // namespace
}  // namespace svkit::state
