// Operator intent that survives restarts: persisted profiles, planned-stop
// markers and boot-time reconcile, first within one scandir, then across
// real container restarts (a PID namespace with a fresh tmpfs scandir).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/spawn.hpp"
#include "../state/profile_state.hpp"
#include "../state/runtime_record.hpp"
#include "harness.hpp"

namespace svkit::test {
namespace {

state::ReadResult want_of(const Sandbox& sb, const std::string& name) {
  return state::read_profile_state(state::state_file(sb.state_dir(), name));
}

// Writes STATE/profiles/NAME/service/run (+ files) and, unless state_json is
// empty, its state.json.
void add_profile(Sandbox& sb, const std::string& name, const std::string& run_body,
                 const std::string& state_json,
                 const std::map<std::string, std::string>& files = {}) {
  const std::string profile = sb.state_dir() + "/profiles/" + name;
  sb.write(profile + "/service/run", "#!/bin/sh\n" + run_body + "\n", true);
  sb.write(profile + "/service/restart-min-interval", "0");
  for (const auto& [file, content] : files) sb.write(profile + "/" + file, content);
  if (!state_json.empty()) sb.write(profile + "/state.json", state_json);
}

std::string wanted(const char* want) {
  return std::string("{\"schema\": 1, \"want\": \"") + want +
         "\", \"updated_at\": \"2026-11-26T21:00:00Z\", \"by\": \"test\"}";
}

// ts=RFC3339 profile=NAME prior_state=.. action=.. prior_exit=.. swept=N [error="..."]
bool is_boot_line(const std::string& line) {
  std::stringstream words(line);
  std::string ts, profile, prior_state, action, prior_exit, swept, rest;
  words >> ts >> profile >> prior_state >> action >> prior_exit >> swept;
  std::getline(words, rest);
  auto one_of = [](const std::string& word, const std::string& key,
                   std::initializer_list<const char*> values) {
    for (auto v : values) {
      if (word == key + "=" + v) return true;
    }
    return false;
  };
  const bool failed = action == "action=failed";
  return ts.size() == 23 && ts.starts_with("ts=") && ts.back() == 'Z' &&
         profile.starts_with("profile=") &&
         one_of(prior_state, "prior_state", {"up", "down", "missing", "corrupt"}) &&
         one_of(action, "action", {"started", "registered", "failed"}) &&
         one_of(prior_exit, "prior_exit", {"clean", "unclean", "unknown"}) &&
         swept.starts_with("swept=") && swept.size() > 6 &&
         swept.find_first_not_of("0123456789", 6) == std::string::npos &&
         (failed ? rest.starts_with(" error=\"") && rest.ends_with("\"") : rest.empty());
}

std::string boot_log(const Sandbox& sb) {
  return read_text(sb.state_dir() + "/logs/boot.log");
}

// The boot-log line of `profile` from the newest boot.
std::string last_line_of(const std::string& log, const std::string& profile) {
  std::string found;
  std::stringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(" profile=" + profile + " ") != std::string::npos) found = line;
  }
  return found;
}

void start_svscan_listening(Sandbox& sb) {
  sb.start_svscan();
  eventually([&] { return sb.svctl({"scan"}).exit_code == 0; }, "svscan listening");
}

// svscan, and a profile "job" added with svctl and up.
void start_with_job(Sandbox& sb) {
  start_svscan_listening(sb);
  ASSERT_EQ(sb.svctl({"add", "job", "sleep", "100000"}).exit_code, 0);
  sb.wait("up", "job");
}

TEST(Profiles, AddRegistersAndStartsAndRemoveDeletesBoth) {
  Sandbox sb;
  start_svscan_listening(sb);
  auto added =
      sb.svctl({"add", "job", "--", "/bin/sh", "-c", "echo \"it's me\"; exec sleep 100000"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  sb.wait("up", "job");
  auto read = want_of(sb, "job");
  ASSERT_EQ(read.outcome, state::ReadOutcome::ok) << read.error;
  EXPECT_TRUE(read.state.want_up);
  EXPECT_EQ(read.state.by, "svctl add");
  eventually(
      [&] { return read_text(sb.log_dir() + "/job/current").find("it's me") != std::string::npos; },
      "the quoted command ran as given");
  EXPECT_EQ(sb.svctl({"add", "job", "--", "true"}).exit_code, 2) << "a duplicate add was accepted";
  const pid_t pid = sb.status("job")->pid;
  ASSERT_EQ(sb.svctl({"remove", "job"}).exit_code, 0);
  EXPECT_FALSE(path_exists(sb.service_dir("job")));
  EXPECT_FALSE(path_exists(sb.state_dir() + "/profiles/job"));
  eventually([&] { return !process_alive(pid); }, "the removed profile's process to stop");
}

TEST(Profiles, UpAndDownPersistWant) {
  Sandbox sb;
  start_with_job(sb);
  ASSERT_EQ(sb.svctl({"down", "job"}).exit_code, 0);
  sb.wait("down", "job");
  EXPECT_FALSE(want_of(sb, "job").state.want_up);
  EXPECT_EQ(want_of(sb, "job").state.by, "svctl down");
  ASSERT_EQ(sb.svctl({"up", "job"}).exit_code, 0);
  sb.wait("up", "job");
  EXPECT_TRUE(want_of(sb, "job").state.want_up);
}

TEST(PlannedStop, MarkedKillIsAnOperatorStopAndBareKillIsNot) {
  Sandbox sb;
  start_with_job(sb);
  // A bare kill: signal-initiated, restarted, want unchanged.
  const pid_t first = sb.status("job")->pid;
  ::kill(first, SIGTERM);
  const pid_t second = sb.wait_new_pid("job", first);
  EXPECT_TRUE(want_of(sb, "job").state.want_up);
  // Another tool marks the stop, then sends its own signal: an operator stop.
  ASSERT_EQ(sb.svctl({"mark-stop", "job"}).exit_code, 0);
  EXPECT_TRUE(path_exists(sb.service_dir("job") + "/supervise/planned-stop"));
  ::kill(second, SIGTERM);
  sb.wait("down", "job");
  // Down by the operator with no start scheduled (a backoff would also read as down).
  auto s = sb.status("job");
  EXPECT_EQ(s->state, RunState::down) << sb.describe("job");
  EXPECT_EQ(s->want, Want::down);
  EXPECT_EQ(s->want_by, WantBy::operator_action);
  EXPECT_EQ(s->next_start_ms, 0);
  auto read = want_of(sb, "job");
  EXPECT_FALSE(read.state.want_up);
  EXPECT_EQ(read.state.by, "planned-stop");
  EXPECT_FALSE(path_exists(sb.service_dir("job") + "/supervise/planned-stop"))
      << "marker not consumed";
}

TEST(PlannedStop, AMarkerForAnotherProcessDoesNotStopTheNextOne) {
  Sandbox sb;
  start_with_job(sb);
  const pid_t pid = sb.status("job")->pid;
  sb.write(sb.service_dir("job") + "/supervise/planned-stop",
           "{\"pid\": " + std::to_string(pid) +
               ", \"start_time\": 1, \"written_at_ms\": " + std::to_string(now_ms()) + "}");
  ::kill(pid, SIGKILL);
  sb.wait_new_pid("job", pid);
  EXPECT_TRUE(want_of(sb, "job").state.want_up);
  EXPECT_EQ(sb.svctl({"mark-stop", "ghost"}).exit_code, 1);
}

TEST(PlannedStop, TheServiceSeesTheMarkerPathAndTheMarkerInItsShutdown) {
  Sandbox sb;
  const std::string seen = sb.path("seen");
  // Ready once its TERM handler is in place, so the stop cannot come first.
  sb.add_service("svc",
                 "trap 'if [ -f \"$SVKIT_PLANNED_STOP_FILE\" ]; then echo planned; else echo "
                 "unplanned; fi >> " +
                     seen +
                     "; exit 0' TERM\n"
                     "echo >&3\nsleep 100000 & wait $!",
                 {{"notification-fd", "3"}});
  sb.start_svscan();
  sb.wait("ready", "svc");
  ASSERT_EQ(sb.svctl({"down", "svc"}).exit_code, 0);
  sb.wait("down", "svc");
  EXPECT_EQ(read_text(seen), "planned\n");
}

TEST(Reconcile, RebuildsSlotsAndLogsOneLinePerProfile) {
  Sandbox sb;
  add_profile(sb, "alpha", "exec sleep 100000", wanted("up"));
  add_profile(sb, "beta", "exec sleep 100000", wanted("down"));
  add_profile(sb, "gamma", "exec sleep 100000", "");
  add_profile(sb, "delta", "exec sleep 100000", "{\"schema\": 1, \"want\": ");
  make_dirs(sb.state_dir() + "/profiles/empty");
  auto run = sb.run({SVKIT_TEST_RECONCILE});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::stringstream lines(run.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(is_boot_line(line)) << line;
    ++count;
  }
  EXPECT_EQ(count, 5);
  EXPECT_EQ(boot_log(sb), run.out);
  EXPECT_NE(run.out.find("profile=alpha prior_state=up action=started"), std::string::npos);
  EXPECT_NE(run.out.find("profile=beta prior_state=down action=registered"), std::string::npos);
  EXPECT_NE(run.out.find("profile=gamma prior_state=missing action=registered"), std::string::npos);
  EXPECT_NE(run.out.find("profile=delta prior_state=corrupt action=registered"), std::string::npos);
  EXPECT_NE(run.out.find("profile=empty prior_state=missing action=failed"), std::string::npos);
  EXPECT_FALSE(path_exists(sb.service_dir("alpha") + "/down"));
  for (auto down : {"beta", "gamma", "delta"})
    EXPECT_TRUE(path_exists(sb.service_dir(down) + "/down")) << down;
  EXPECT_EQ(
      std::filesystem::directory_iterator(sb.scandir()) == std::filesystem::directory_iterator(),
      false);
  for (auto& entry : std::filesystem::directory_iterator(sb.scandir())) {
    EXPECT_NE(entry.path().filename().string().front(), '.') << "staging left behind";
  }
  // Idempotent: a second run changes nothing and starts nothing twice.
  auto again = sb.run({SVKIT_TEST_RECONCILE});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("profile=alpha prior_state=up action=started"), std::string::npos);
}

TEST(Reconcile, BadProfilesFailAloneAndNothingOutsideIsTouched) {
  Sandbox sb;
  add_profile(sb, "good", "exec sleep 100000", wanted("up"));
  sb.write("outside/service/run", "#!/bin/sh\nexec sleep 1\n", true);
  sb.write("outside/precious", "keep me");
  std::filesystem::create_directory_symlink(sb.path("outside"),
                                            sb.state_dir() + "/profiles/escape");
  add_profile(sb, "globby", "exec sleep 100000", wanted("up"),
              {{"service/runtime-files", "../../../outside/precious\n/etc/hostname\nrun/*.pid\n"},
               {"run/app.pid", "123"}});
  auto run = sb.run({SVKIT_TEST_RECONCILE});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("profile=escape prior_state=missing action=failed prior_exit=unknown "
                         "swept=0 error=\"symlink leads out of the state dir\""),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("profile=good prior_state=up action=started"), std::string::npos);
  EXPECT_NE(run.out.find("profile=globby prior_state=up action=started prior_exit=unknown swept=1"),
            std::string::npos)
      << run.out;
  EXPECT_EQ(read_text(sb.path("outside/precious")), "keep me");
  EXPECT_NE(run.err.find("leaves the profile folder"), std::string::npos) << run.err;
}

TEST(Reconcile, ARerunWhileTheServiceIsUpLeavesItsLiveFilesAlone) {
  Sandbox sb;
  const std::string profile = sb.state_dir() + "/profiles/live";
  add_profile(sb, "live", "echo $$ > " + profile + "/data/app.pid\nexec sleep 100000", wanted("up"),
              {{"service/runtime-files", "data/*.pid\n"}, {"data/.keep", ""}});
  ASSERT_EQ(sb.run({SVKIT_TEST_RECONCILE}).exit_code, 0);
  sb.start_svscan();
  sb.wait("up", "live");
  eventually(
      [&] { return path_exists(profile + "/data/app.pid") && path_exists(profile + "/pid"); },
      "the live service's pid file and svkit's pid record");
  auto again = sb.run({SVKIT_TEST_RECONCILE});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("profile=live prior_state=up action=started prior_exit=unknown swept=0"),
            std::string::npos)
      << again.out;
  EXPECT_TRUE(path_exists(profile + "/data/app.pid"));
  EXPECT_TRUE(path_exists(profile + "/pid"));
}

// ---- real container restarts ------------------------------------------------

// A container without Docker: PID 1 of a new PID namespace, in a new mount
// namespace with fresh tmpfs on the scandir and run dir; the state dir on disk
// persists across boots. The init is a tiny script: reconcile, then svscan.
class Container {
 public:
  explicit Container(Sandbox& sb) : sb_(sb) {}
  ~Container() {
    if (unshare_pid_ <= 0) return;
    // PID 1's death takes the namespace with it; unshare returns once all are gone.
    if (init_pid_ > 0) ::kill(init_pid_, SIGKILL);
    if (wait_child(unshare_pid_) < 0) {
      ::kill(unshare_pid_, SIGKILL);
      wait_child(unshare_pid_);
    }
  }

  static bool supported() {
    Sandbox probe;
    return probe.run({"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--mount", "true"})
               .exit_code == 0;
  }

  void boot() {
    const std::string script =
        "set -e\n"
        "mount -t tmpfs -o mode=0755 tmpfs \"$SVKIT_SCANDIR\"\n"
        "mount -t tmpfs -o mode=0755 tmpfs \"$SVKIT_RUNDIR\"\n"
        "\"$SVKIT_LIBEXEC/reconcile\"\n"
        "exec \"$SVKIT_LIBEXEC/svscan\" \"$SVKIT_SCANDIR\"\n";
    SpawnRequest request{.argv = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--mount",
                                  "--propagation", "private", "/bin/sh", "-c", script},
                         .extra_env = sb_.env(),
                         .cwd = sb_.root()};
    auto spawned = spawn(request);
    ASSERT_GT(spawned.pid, 0);
    unshare_pid_ = spawned.pid;
    eventually([&] { return (init_pid_ = first_child(unshare_pid_)) > 0; },
               "the container's PID 1");
    eventually(
        [&] {
          return exec({"svctl", "scan"}).exit_code == 0;
        },
        "svscan up in the container", [&] { return boot_log(sb_); });
  }

  // Runs a svkit program inside the container's namespaces.
  CommandResult exec(std::vector<std::string> argv) {
    std::vector<std::string> full{"/usr/bin/nsenter",
                                  "-t",
                                  std::to_string(init_pid_),
                                  "-m",
                                  "-p",
                                  sb_.root() + "/libexec/" + argv.front()};
    full.insert(full.end(), argv.begin() + 1, argv.end());
    return sb_.run(full);
  }

  void wait(const std::string& condition, const std::string& name) {
    auto r = exec({"svctl", "wait", condition, "-t", "20000", name});
    EXPECT_EQ(r.exit_code, 0) << name << " never " << condition << ": " << r.err
                              << exec({"svctl", "stat"}).out;
  }

  // "docker restart": SIGTERM to PID 1, wait for the container to end.
  int stop(int sig = SIGTERM) {
    ::kill(init_pid_, sig);
    int code = wait_child(unshare_pid_);
    unshare_pid_ = init_pid_ = 0;
    return code;
  }

 private:
  static pid_t first_child(pid_t pid) {
    std::string children =
        read_text("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    return children.empty() ? 0 : std::stoi(children);
  }

  Sandbox& sb_;
  pid_t unshare_pid_ = 0;
  pid_t init_pid_ = 0;
};

class ContainerRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Container::supported()) GTEST_SKIP() << "unshare --pid --mount is not permitted here";
  }
  Sandbox sb;
};

TEST_F(ContainerRestart, AServiceWantedUpSurvivesTheRestart) {
  add_profile(sb, "coder", "exec sleep 100000", wanted("up"));
  Container first(sb);
  first.boot();
  first.wait("up", "coder");
  EXPECT_EQ(first.stop(), 0);
  Container second(sb);
  second.boot();
  second.wait("up", "coder");
  EXPECT_NE(
      last_line_of(boot_log(sb), "coder").find("prior_state=up action=started prior_exit=clean"),
      std::string::npos)
      << boot_log(sb);
}

TEST_F(ContainerRestart, AServiceStoppedWithSvctlDownStaysDown) {
  add_profile(sb, "writer", "exec sleep 100000", wanted("up"));
  Container first(sb);
  first.boot();
  first.wait("up", "writer");
  ASSERT_EQ(first.exec({"svctl", "down", "writer"}).exit_code, 0);
  first.wait("down", "writer");
  first.stop();
  Container second(sb);
  second.boot();
  EXPECT_NE(last_line_of(boot_log(sb), "writer").find("prior_state=down action=registered"),
            std::string::npos)
      << boot_log(sb);
  second.wait("down", "writer");
  auto stat = second.exec({"svctl", "stat", "writer"});
  EXPECT_NE(stat.out.find("writer: down"), std::string::npos) << stat.out;
  EXPECT_EQ(second.exec({"svctl", "wait", "up", "-t", "300", "writer"}).exit_code, 3);
  // The slot is there, with its down file: the operator can bring it up.
  ASSERT_EQ(second.exec({"svctl", "up", "writer"}).exit_code, 0);
  second.wait("up", "writer");
}

TEST_F(ContainerRestart, ALiveServiceKilledByTheContainerStopComesBack) {
  // The service's own shutdown path sees no marker: a container stop is not an
  // operator's. Nothing stamps state by hand here.
  add_profile(sb, "validator",
              "trap 'if [ -f \"$SVKIT_PLANNED_STOP_FILE\" ]; then echo planned; else echo "
              "unplanned; fi >> " +
                  sb.path("shutdowns") +
                  "; exit 0' TERM\n"
                  "echo >&3\nsleep 100000 & wait $!",
              wanted("up"), {{"service/notification-fd", "3"}});
  Container first(sb);
  first.boot();
  first.wait("ready", "validator");
  EXPECT_EQ(first.stop(), 0);
  EXPECT_EQ(read_text(sb.path("shutdowns")), "unplanned\n");
  EXPECT_TRUE(want_of(sb, "validator").state.want_up) << "the shutdown path recorded want=down";
  Container second(sb);
  second.boot();
  second.wait("up", "validator");
  EXPECT_NE(last_line_of(boot_log(sb), "validator").find("prior_state=up action=started"),
            std::string::npos)
      << boot_log(sb);
}

TEST_F(ContainerRestart, StaleRuntimeFilesAreSweptEvenWhenTheOldPidIsAliveAgain) {
  // The service keeps its pid file in its profile folder, listed in runtime-files.
  add_profile(sb, "pidful",
              "echo $$ > " + sb.state_dir() + "/profiles/pidful/data/app.pid\nexec sleep 100000",
              wanted("up"), {{"service/runtime-files", "data/*.pid\n"}, {"data/.keep", ""}});
  Container first(sb);
  first.boot();
  first.wait("up", "pidful");
  const std::string profile = sb.state_dir() + "/profiles/pidful";
  eventually(
      [&] { return path_exists(profile + "/data/app.pid") && path_exists(profile + "/pid"); },
      "the service's pid file and svkit's pid record");
  // The container dies hard (OOM kill, power loss): nothing cleans up.
  first.stop(SIGKILL);
  auto old_record = state::read_pid_record(profile);
  ASSERT_TRUE(old_record);
  // In the next namespace pid 1 is certainly alive: the old number names a live process.
  ASSERT_FALSE(state::write_pid_record(profile, {1, old_record->start_time, old_record->instance}));
  sb.write(profile + "/data/app.pid", "1");
  Container second(sb);
  second.boot();
  const std::string line = last_line_of(boot_log(sb), "pidful");
  EXPECT_NE(line.find("prior_state=up action=started prior_exit=unclean swept=2"),
            std::string::npos)
      << boot_log(sb);
  second.wait("up", "pidful");
  eventually(
      [&] {
        auto record = state::read_pid_record(profile);
        return record && record->instance != old_record->instance &&
               read_text(profile + "/data/app.pid") != "1";
      },
      "fresh records from the new instance");
}

TEST_F(ContainerRestart, ACorruptStateFileRegistersThatProfileDownAndOthersStart) {
  add_profile(sb, "broken", "exec sleep 100000", "{\"schema\": 1, \"want\": \"u");
  add_profile(sb, "fine", "exec sleep 100000", wanted("up"));
  Container c(sb);
  c.boot();
  c.wait("up", "fine");
  EXPECT_NE(last_line_of(boot_log(sb), "broken").find("prior_state=corrupt action=registered"),
            std::string::npos)
      << boot_log(sb);
  c.wait("down", "broken");
  auto stat = c.exec({"svctl", "stat", "broken"});
  EXPECT_NE(stat.out.find("broken: down"), std::string::npos) << stat.out;
}

}  // namespace
}  // namespace svkit::test
