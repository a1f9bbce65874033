// Unit tests of persisted state: the state file, the planned-stop marker
// rules, pid records, and reconcile's log line.
#include <gtest/gtest.h>
#include <unistd.h>

#include "../lib/files.hpp"
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
  s.last = Observation{"exited", 5, 42, 0, 0, "abc"};
  const std::string path = sb.path("state.json");
  ASSERT_EQ(write_profile_state(path, s), "");
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
  make_dirs(sb.state_dir() + "/profiles/p/service");
  ASSERT_EQ(set_want(sb.state_dir(), "p", true, "svctl add"), "");
  ASSERT_EQ(record_observation(sb.state_dir(), "p", {"started", 1, 10, -1, 0, "i1"}), "");
  ASSERT_EQ(set_want(sb.state_dir(), "p", false, "svctl down"), "");
  ASSERT_EQ(record_observation(sb.state_dir(), "p", {"exited", 2, 10, -1, 15, "i1"}), "");
  auto read = read_profile_state(state_file(sb.state_dir(), "p"));
  ASSERT_EQ(read.outcome, ReadOutcome::ok);
  EXPECT_FALSE(read.state.want_up);
  EXPECT_EQ(read.state.by, "svctl down");
  ASSERT_TRUE(read.state.last);
  EXPECT_EQ(read.state.last->event, "exited");
  EXPECT_EQ(read.state.last->signal, 15);
}

TEST(ProfileStateFile, AnObservationNeverInventsOrRepairsAnIntent) {
  test::Sandbox sb;
  make_dirs(sb.state_dir() + "/profiles/p/service");
  ASSERT_EQ(record_observation(sb.state_dir(), "p", {"started", 1, 10, -1, 0, "i"}), "");
  EXPECT_FALSE(path_exists(state_file(sb.state_dir(), "p")));
  sb.write(state_file(sb.state_dir(), "p"), "garbage");
  ASSERT_EQ(record_observation(sb.state_dir(), "p", {"started", 1, 10, -1, 0, "i"}), "");
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
  EXPECT_EQ(judge_marker(std::nullopt, 42, 777, now), MarkerVerdict::absent);
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

TEST(InstanceId, CreatedOnceThenRead) {
  test::Sandbox sb;
  const std::string id = ensure_instance_id(sb.rundir());
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(ensure_instance_id(sb.rundir()), id);
  EXPECT_EQ(read_instance_id(sb.rundir()), id);
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
    ASSERT_EQ(reconcile::append_boot_log(sb.state_dir(), line + "\n"), "");
  EXPECT_TRUE(path_exists(sb.state_dir() + "/logs/boot.log.1"));
  EXPECT_FALSE(path_exists(sb.state_dir() + "/logs/boot.log.2"));
  EXPECT_LE(test::read_text(sb.state_dir() + "/logs/boot.log").size(), 256u * 1024 + 1001);
}

}  // namespace
}  // namespace svkit::state
