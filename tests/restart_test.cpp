// Restarts that never hide the bug: restart policies, backoff, halt codes,
// health checks and evidence, with real processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/json.hpp"
#include "harness.hpp"

namespace svkit::test {
namespace {

// Each start appends a line to `path`; "ms" gives the start time in ms.
std::string record_start(const std::string& path) {
  return "echo \"$(date +%s%3N)\" >> " + path + "\n";
}

std::vector<int64_t> start_times(const std::string& path) {
  std::vector<int64_t> times;
  std::stringstream lines(read_text(path));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) times.push_back(std::stoll(line));
  }
  return times;
}

size_t count_starts(const std::string& path) {
  return start_times(path).size();
}

std::vector<std::string> evidence_files(const Sandbox& sb, const std::string& name) {
  std::vector<std::string> files;
  const std::string dir = sb.log_dir() + "/" + name + "/evidence";
  if (!is_directory(dir)) return files;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(RestartPolicy, OnFailureWithALimitStartsThreeTimesThenStaysDown) {
  Sandbox sb;
  const std::string starts = sb.path("starts");
  sb.add_service("flaky", record_start(starts) + "exit 1",
                 {{"restart", "on-failure:2"}, {"restart-min-interval", "0"}});
  sb.start_svscan();
  eventually(
      [&] {
        auto s = sb.status("flaky");
        return s && s->state == RunState::failed;
      },
      "flaky to give up", [&] { return sb.describe("flaky"); });
  EXPECT_EQ(count_starts(starts), 3u);
  auto s = sb.status("flaky");
  EXPECT_NE(s->reason.find("gave up after 2 restarts (on-failure:2)"), std::string::npos)
      << s->reason;
  EXPECT_EQ(s->restarts, 2u);
  EXPECT_NE(sb.svctl({"stat", "flaky"}).out.find("gave up"), std::string::npos);
  // The operator's up wins over the policy, with a fresh count.
  EXPECT_EQ(sb.svctl({"up", "flaky"}).exit_code, 0);
  eventually([&] { return count_starts(starts) == 6; }, "three more starts after svctl up",
             [&] { return sb.describe("flaky"); });
}

TEST(RestartPolicy, OnFailureDoesNotRestartACleanExitAndNeverNeverRestarts) {
  Sandbox sb;
  const std::string clean = sb.path("clean"), never = sb.path("never");
  sb.add_service("clean", record_start(clean) + "exit 0",
                 {{"restart", "on-failure"}, {"restart-min-interval", "0"}});
  sb.add_service("never", record_start(never) + "exit 3",
                 {{"restart", "never"}, {"restart-min-interval", "0"}});
  sb.start_svscan();
  for (auto name : {"clean", "never"}) {
    eventually(
        [&] {
          auto s = sb.status(name);
          return s && s->last_exit && s->state == RunState::down;
        },
        std::string(name) + " down after its exit", [&] { return sb.describe(name); });
  }
  EXPECT_EQ(sb.svctl({"wait", "up", "-t", "300", "clean"}).exit_code, 3);
  EXPECT_EQ(count_starts(clean), 1u);
  EXPECT_EQ(count_starts(never), 1u);
  EXPECT_NE(sb.status("clean")->reason.find("on-failure"), std::string::npos);
  EXPECT_NE(sb.status("never")->reason.find("exited 3; restart policy is never"),
            std::string::npos);
}

// The delay each evidence file says came next, oldest first.
std::vector<std::string> next_steps(const Sandbox& sb, const std::string& name) {
  std::vector<std::string> steps;
  for (const auto& file : evidence_files(sb, name)) {
    const std::string text = read_text(file);
    const auto at = text.find("\nnext: ");
    steps.push_back(
        at == std::string::npos ? "?" : text.substr(at + 7, text.find('\n', at + 1) - at - 7));
  }
  return steps;
}

TEST(Backoff, DelaysDoubleThenCapThenResetAfterAStableRun) {
  Sandbox sb;
  const std::string starts = sb.path("starts"), release = sb.path("release");
  ASSERT_EQ(::mkfifo(release.c_str(), 0600), 0);
  // Crashes at once, unless the `stable` flag exists: then it runs until released.
  sb.add_service(
      "crasher",
      record_start(starts) + "[ -f " + sb.path("stable") + " ] && read x < " + release + "\nexit 1",
      {{"restart-min-interval", "20"},
       {"restart-max-delay", "160"},
       {"restart-reset", "1000"},
       {"evidence-keep", "100"}});
  sb.start_svscan();
  ASSERT_TRUE(eventually([&] { return next_steps(sb, "crasher").size() >= 7; },
                         "seven crashes with evidence", [&] { return sb.describe("crasher"); }));
  sb.write("stable", "");
  std::vector<std::string> delays = next_steps(sb, "crasher");
  delays.resize(7);
  EXPECT_EQ(delays,
            (std::vector<std::string>{"restart in 20 ms", "restart in 40 ms", "restart in 80 ms",
                                      "restart in 160 ms", "restart in 160 ms", "restart in 160 ms",
                                      "restart in 160 ms"}));
  // A stable run (longer than restart-reset, by its monotonic uptime) wipes the backoff clean.
  ASSERT_TRUE(eventually(
      [&] {
        auto st = sb.status("crasher");
        return st && st->state == RunState::up && now_ms() - st->since_ms > 1100;
      },
      "a stable run longer than restart-reset", [&] { return sb.describe("crasher"); }));
  const size_t before = next_steps(sb, "crasher").size();
  std::filesystem::remove(sb.path("stable"));
  int fd = ::open(release.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "x\n", 2), 2);
  ::close(fd);
  ASSERT_TRUE(eventually([&] { return next_steps(sb, "crasher").size() >= before + 2; },
                         "two crashes after the stable run"));
  const auto after = next_steps(sb, "crasher");
  EXPECT_EQ(after[before], "restart at once") << "backoff did not reset after a stable run";
  EXPECT_EQ(after[before + 1], "restart in 20 ms");
}

TEST(HaltCodes, ADeliberateHaltIsNotRestartedButACrashIs) {
  Sandbox sb;
  const std::string starts = sb.path("starts"), code = sb.path("code");
  sb.write("code", "1");
  sb.add_service(
      "node", record_start(starts) + "exit $(cat " + code + ")",
      {{"halt-codes", "70 71 72\n"}, {"restart-min-interval", "0"}, {"restart-max-delay", "0"}});
  sb.start_svscan();
  eventually([&] { return count_starts(starts) >= 3; }, "a crashing node is restarted");
  sb.write("code", "71");
  eventually(
      [&] {
        auto s = sb.status("node");
        return s && s->state == RunState::halted;
      },
      "node halted", [&] { return sb.describe("node"); });
  const size_t starts_at_halt = count_starts(starts);
  auto stat = sb.svctl({"stat", "node"});
  EXPECT_NE(stat.out.find("node: halted (exit 71)"), std::string::npos) << stat.out;
  EXPECT_EQ(sb.status("node")->want, Want::up) << "a halt must not change want";
  EXPECT_EQ(sb.svctl({"wait", "up", "-t", "300", "node"}).exit_code, 3);
  EXPECT_EQ(count_starts(starts), starts_at_halt);
}

TEST(HaltCodes, ANamedHaltAndTheServicesIntentShowInStatAndBadIntentsAreOneLine) {
  Sandbox sb;
  const std::map<std::string, std::string> codes{{"halt-codes", "70\n71 upgrade-height-reached\n"}};
  sb.add_service("node",
                 "echo '{\"reason\":\"upgrade at height 1200\",\"height\":1200}' > "
                 "\"$SVKIT_HALT_INTENT_FILE\"\nexit 71",
                 codes);
  sb.add_service("garbled", "echo '{not json' > \"$SVKIT_HALT_INTENT_FILE\"\nexit 70", codes);
  sb.add_service("huge", "head -c 100000 /dev/zero > \"$SVKIT_HALT_INTENT_FILE\"\nexit 71", codes);
  sb.start_svscan();
  for (auto name : {"node", "garbled", "huge"}) {
    eventually([&] { return sb.status(name) && sb.status(name)->state == RunState::halted; },
               std::string(name) + " to halt", [&] { return sb.describe(name); });
  }
  const std::string line = sb.svctl({"stat", "node"}).out;
  EXPECT_NE(line.find("node: halted (exit 71: upgrade-height-reached)"), std::string::npos) << line;
  EXPECT_NE(
      line.find("halted on purpose (exit 71: upgrade-height-reached): upgrade at height 1200"),
      std::string::npos)
      << line;
  auto json = nlohmann::json::parse(sb.svctl({"stat", "--json", "node"}).out);
  EXPECT_EQ(json[0]["halt_intent"]["height"], 1200);
  EXPECT_EQ(json[0]["halt_name"], "upgrade-height-reached");
  for (auto name : {"garbled", "huge"}) {
    auto s = sb.status(name);
    ASSERT_EQ(s->errors.size(), 1u) << name;
    EXPECT_TRUE(s->errors[0].starts_with("halt intent: ")) << s->errors[0];
    EXPECT_TRUE(s->halt_intent.is_null());
  }
  EXPECT_EQ(sb.status("garbled")->halt_name, "");
  EXPECT_EQ(sb.svctl({"stat"}).exit_code, 0);
}

TEST(Check, PassesOnlyWhenEveryServiceWantedUpIsUpAndReady) {
  Sandbox sb;
  Gate ready(sb, "ready");
  sb.add_service("a", "exec sleep 100000");
  sb.add_service("b", "read x < " + ready.path() + "\necho >&3\nexec sleep 100000",
                 {{"notification-fd", "3"}});
  sb.add_service("c", "exec sleep 100000", {{"down", ""}});
  sb.start_svscan();
  sb.wait("up", "a");
  sb.wait("up", "b");
  auto all = sb.svctl({"check"});
  EXPECT_EQ(all.exit_code, 1);
  EXPECT_EQ(all.out, "b: up, not ready\n") << "c is wanted down: not a check";
  EXPECT_EQ(sb.svctl({"check", "a"}).exit_code, 0);
  auto named = sb.svctl({"check", "a", "c", "nosuch"});
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_EQ(named.out, "c: down\nnosuch: not supervised\n");
  ready.release();
  sb.wait("ready", "b");
  auto passed = sb.svctl({"check"});
  EXPECT_EQ(passed.exit_code, 0) << passed.out;
  EXPECT_EQ(passed.out, "");
}

TEST(Health, FailingChecksLeaveEvidenceThenRestart) {
  Sandbox sb;
  const std::string seen = sb.path("seen");
  const std::string evidence_dir = sb.log_dir() + "/sick/evidence";
  // On each start, note whether evidence was already on disk.
  sb.add_service("sick",
                 "if ls " + evidence_dir +
                     "/*.log > /dev/null 2>&1; then echo yes; else echo no; fi >> " + seen +
                     "\necho \"last words of $$\"\nexec sleep 100000",
                 {{"health", "#!/bin/sh\necho 'db: connection refused'\nexit 1\n"},
                  {"health-interval", "20"},
                  {"health-retries", "3"},
                  {"health-action", "restart"},
                  {"restart-min-interval", "0"}});
  ::chmod((sb.service_dir("sick") + "/health").c_str(), 0755);
  sb.start_svscan();
  sb.wait("up", "sick");
  const pid_t first = sb.status("sick")->pid;
  sb.wait_new_pid("sick", first);
  eventually([&] { return read_text(seen).starts_with("no\nyes\n"); },
             "the second start to find the evidence already on disk",
             [&] { return "seen: " + read_text(seen); });
  auto files = evidence_files(sb, "sick");
  ASSERT_FALSE(files.empty());
  const std::string evidence = read_text(files.front());
  EXPECT_NE(files.front().find("-unhealthy.log"), std::string::npos) << files.front();
  // The first evidence is the first run's (on a slow machine `first` may
  // already be a later one): its pid, and that run's own last words.
  const auto pid_at = evidence.find("\npid: ");
  ASSERT_NE(pid_at, std::string::npos) << evidence;
  const std::string pid = evidence.substr(pid_at + 6, evidence.find('\n', pid_at + 1) - pid_at - 6);
  EXPECT_NE(evidence.find("last words of " + pid + "\n"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("db: connection refused"), std::string::npos) << evidence;
  EXPECT_NE(evidence.find("reason: unhealthy: 3 health checks in a row failed"), std::string::npos);
  EXPECT_NE(sb.svctl({"stat", "sick"}).out.find("evidence " + evidence_dir), std::string::npos);
}

// The Sentrix runbook: warn (unhealthy, evidence, keep running) at the first
// threshold, collect evidence again and restart at the second.
TEST(Health, TwoThresholdsWarnWithEvidenceThenRestart) {
  Sandbox sb;
  Gate third_check(sb, "third-check");
  const std::string count = sb.path("checks");
  sb.add_service(
      "node", "exec sleep 100000",
      {{"health", "#!/bin/sh\nn=$(( $(cat " + count + " 2>/dev/null || echo 0) + 1 ))\necho $n > " +
                      count + "\n[ $n -eq 3 ] && read x < " + third_check.path() +
                      "\necho \"height stuck at 1200\"\nexit 1\n"},
       {"health-interval", "20"},
       {"health-timeout", "600000"},
       {"health-retries", "2"},
       {"health-restart-retries", "5"},
       {"restart-min-interval", "0"}});
  ::chmod((sb.service_dir("node") + "/health").c_str(), 0755);
  sb.start_svscan();
  sb.wait("up", "node");
  const pid_t first = sb.status("node")->pid;
  // The third check waits on the gate: the warning is the state until then.
  eventually([&] { return read_text(count) == "3\n" && evidence_files(sb, "node").size() == 1; },
             "the warning's evidence while the third check runs",
             [&] { return sb.describe("node"); });
  auto warned = sb.status("node");
  EXPECT_EQ(warned->health, Health::unhealthy);
  EXPECT_EQ(warned->health_failures, 2u);
  EXPECT_EQ(warned->pid, first) << "the warning threshold must not restart";
  const std::string warning = read_text(evidence_files(sb, "node").front());
  EXPECT_NE(warning.find("reason: unhealthy: 2 health checks in a row failed"), std::string::npos)
      << warning;
  EXPECT_NE(warning.find("next: restart after 3 more failed checks"), std::string::npos) << warning;
  EXPECT_NE(warning.find("height stuck at 1200"), std::string::npos) << warning;
  EXPECT_NE(sb.svctl({"stat", "node"}).out.find("unhealthy (2 checks failed in a row)"),
            std::string::npos);

  third_check.release();
  sb.wait_new_pid("node", first);
  auto files = evidence_files(sb, "node");
  ASSERT_GE(files.size(), 2u);
  const std::string restart = read_text(files[1]);
  EXPECT_NE(restart.find("reason: unhealthy: 5 health checks in a row failed"), std::string::npos)
      << restart;
  EXPECT_NE(restart.find("next: restart at once"), std::string::npos) << restart;
  EXPECT_NE(restart.find("\npid: " + std::to_string(first) + "\n"), std::string::npos) << restart;
}

TEST(Health, ARestartThresholdBelowTheWarningIsOneErrorLine) {
  Sandbox sb;
  sb.add_service("svc", "exec sleep 100000",
                 {{"health", "#!/bin/sh\nexit 0\n"},
                  {"health-retries", "4"},
                  {"health-restart-retries", "2"}});
  ::chmod((sb.service_dir("svc") + "/health").c_str(), 0755);
  sb.start_svscan();
  sb.wait("up", "svc");
  const auto errors = sb.status("svc")->errors;
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "health-restart-retries: 2 is below health-retries; 4 used");
}

TEST(Health, AHangingCheckIsKilledAtItsTimeout) {
  Sandbox sb;
  const std::string health_pid = sb.path("health-pid");
  sb.add_service("svc", "exec sleep 100000",
                 {{"health", "#!/bin/sh\necho $$ > " + health_pid + "\nexec sleep 100000\n"},
                  {"health-interval", "20"},
                  // Long enough for the check's shell to write its pid on a
                  // loaded machine (at 100 ms a sanitizer run once lost it).
                  {"health-timeout", "1000"},
                  {"health-retries", "1"}});
  ::chmod((sb.service_dir("svc") + "/health").c_str(), 0755);
  sb.start_svscan();
  sb.wait("up", "svc");
  eventually(
      [&] {
        auto s = sb.status("svc");
        return s && s->health == Health::unhealthy;
      },
      "svc unhealthy after its check timed out", [&] { return sb.describe("svc"); });
  ASSERT_FALSE(read_text(health_pid).empty());
  const pid_t pid = std::stoi(read_text(health_pid));
  eventually([&] { return !process_alive(pid); }, "the hanging health check to be killed");
  EXPECT_TRUE(process_alive(sb.status("svc")->pid)) << "health-action none must not restart";
  EXPECT_NE(sb.svctl({"stat", "svc"}).out.find("unhealthy"), std::string::npos);
}

TEST(Evidence, TheRingHoldsTheLastOutputEvenWhenTheLogRotatedAway) {
  Sandbox sb;
  sb.add_service(
      "chatty",
      "i=1; while [ $i -le 400 ]; do echo \"line $i of the crash story\"; i=$((i+1)); done\n"
      "exit 2",
      {{"log-max-bytes", "4096"}, {"log-keep", "0"}, {"restart", "never"}});
  sb.start_svscan();
  eventually([&] { return !evidence_files(sb, "chatty").empty(); }, "evidence of the crash",
             [&] { return sb.describe("chatty"); });
  const std::string evidence = read_text(evidence_files(sb, "chatty").front());
  EXPECT_NE(evidence.find("line 1 of the crash story"), std::string::npos);
  EXPECT_NE(evidence.find("line 400 of the crash story"), std::string::npos);
  EXPECT_NE(evidence.find("exit_code: 2"), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(evidence_files(sb, "chatty").front().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u) << "evidence holds the service's output";
  ASSERT_EQ(::stat((sb.log_dir() + "/chatty/evidence").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  EXPECT_EQ(read_text(sb.log_dir() + "/chatty/current").find("line 1 of"), std::string::npos)
      << "the log should have rotated the first lines away";
}

TEST(Evidence, OnlyTheNewestAreKept) {
  Sandbox sb;
  const std::string starts = sb.path("starts");
  // Eight crashes, then it stays up.
  sb.add_service(
      "loop",
      record_start(starts) + "[ $(wc -l < " + starts + ") -gt 8 ] && exec sleep 100000\n" +
          "exit 1",
      {{"evidence-keep", "3"}, {"restart-min-interval", "0"}, {"restart-max-delay", "0"}});
  sb.start_svscan();
  eventually([&] { return count_starts(starts) == 9; }, "eight crashes and a ninth start");
  sb.wait("up", "loop");
  // Evidence is written before each restart: eight written, the newest three kept.
  auto files = evidence_files(sb, "loop");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_NE(read_text(files.back()).find("restarts: 7"), std::string::npos)
      << read_text(files.back());
}

// supervise lists the evidence folder once, at its first evidence, and keeps
// track of it after: what an earlier supervise left there must still count.
TEST(Evidence, FilesAnEarlierSuperviseLeftCountTowardsTheKeep) {
  Sandbox sb;
  const std::string folder = sb.log_dir() + "/svc/evidence";
  for (int second = 0; second < 4; ++second) {
    sb.write(folder + "/20200101T00000" + std::to_string(second) + ".000Z-exit-1.log", "old\n");
  }
  sb.add_service("svc", "exec sleep 100000",
                 {{"evidence-keep", "3"}, {"restart-min-interval", "0"}});
  sb.start_svscan();
  sb.wait("up", "svc");
  const pid_t first = sb.status("svc")->pid;
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  sb.wait_new_pid("svc", first);
  eventually(
      [&] {
        auto files = evidence_files(sb, "svc");
        return files.size() == 3 && files.back().ends_with("-signal-SIGKILL.log");
      },
      "the SIGKILL's evidence beside the two newest files of before, the rest removed",
      [&] {
        std::string all;
        for (const auto& file : evidence_files(sb, "svc")) all += file + "\n";
        return all;
      });
  auto files = evidence_files(sb, "svc");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_TRUE(files[0].ends_with("/20200101T000002.000Z-exit-1.log")) << files[0];
  EXPECT_TRUE(files[1].ends_with("/20200101T000003.000Z-exit-1.log")) << files[1];
}

TEST(Evidence, AFolderRemovedUnderSuperviseIsMadeAgainAtTheNextDeath) {
  Sandbox sb;
  sb.add_service("svc", "exec sleep 100000", {{"restart-min-interval", "0"}});
  sb.start_svscan();
  sb.wait("up", "svc");
  pid_t pid = sb.status("svc")->pid;
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  pid = sb.wait_new_pid("svc", pid);
  eventually([&] { return evidence_files(sb, "svc").size() == 1; }, "the first death's evidence",
             [&] { return sb.describe("svc"); });
  const std::string first = evidence_files(sb, "svc").front();
  std::filesystem::remove_all(sb.log_dir() + "/svc/evidence");  // an operator clearing it
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  sb.wait_new_pid("svc", pid);
  eventually(
      [&] {
        auto files = evidence_files(sb, "svc");
        auto s = sb.status("svc");
        return files.size() == 1 && files.front() != first && s && s->evidence == files.front();
      },
      "the second death's evidence in a folder made again, and named in the status",
      [&] { return sb.describe("svc"); });
  EXPECT_TRUE(sb.status("svc")->errors.empty()) << sb.describe("svc");
}

TEST(BadInput, BadPolicyFilesKeepDefaultsAndSaySo) {
  Sandbox sb;
  sb.add_service("svc", "exec sleep 100000",
                 {{"restart", "sometimes"},
                  {"halt-codes", "70 upgrade def 300"},  // `upgrade` names 70
                  {"restart-max-delay", "-4"},
                  {"health", "#!/bin/sh\nexit 0\n"}});
  // `health` written non-executable on purpose.
  sb.start_svscan();
  sb.wait("up", "svc");
  auto s = sb.status("svc");
  ASSERT_EQ(s->errors.size(), 5u) << sb.describe("svc");
  std::string all;
  for (auto& e : s->errors) all += e + "\n";
  EXPECT_NE(all.find("restart: \"sometimes\""), std::string::npos) << all;
  EXPECT_NE(all.find("halt-codes: \"def\""), std::string::npos) << all;
  EXPECT_NE(all.find("halt-codes: \"300\""), std::string::npos) << all;
  EXPECT_NE(all.find("restart-max-delay: \"-4\""), std::string::npos) << all;
  EXPECT_NE(all.find("health: not an executable file"), std::string::npos) << all;
}

}  // namespace
}  // namespace svkit::test
