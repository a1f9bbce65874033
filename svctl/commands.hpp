// svctl's commands. Each returns the exit code (DESIGN.md "svctl"):
// 0 done, 1 a named service is not supervised, 2 usage, 3 wait timed out,
// 4 permission denied, 111 system error. Errors go to stderr, one line each.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace svkit::svctl {

namespace exit_code {
constexpr int kOk = 0;
constexpr int kNotSupervised = 1;
constexpr int kUsage = 2;
constexpr int kTimedOut = 3;
constexpr int kPermission = 4;
constexpr int kSystem = 111;
}  // namespace exit_code

// The worse of two exit codes: the one a script most needs to see.
int worse(int a, int b);

struct Context {
  std::string scandir;
  std::string rundir;
  std::string state_dir;
  std::string log_dir;
};

// The services of the scandir, by name.
std::vector<std::string> all_services(const std::string& scandir);

// Each changing command first checks that the user may change the service
// (exit 4 at once when not); up and down persist `want` for a persisted
// profile before anything else, and change nothing when that fails.
int send_letter(const Context& ctx, char letter, const std::vector<std::string>& names);
int up(const Context& ctx, const std::vector<std::string>& names);
// The planned-stop marker for the instance it stops, want down, then the stop.
int down(const Context& ctx, const std::vector<std::string>& names);
int mark_stop(const Context& ctx, const std::vector<std::string>& names);
// Dynamic profiles: STATE/profiles/NAME/{service/run,state.json} and a slot.
int add(const Context& ctx, const std::string& name, const std::vector<std::string>& command);
int remove(const Context& ctx, const std::string& name);
int stat(const Context& ctx, const std::vector<std::string>& names, bool json);
// A probe: 0 when every named service (every service wanted up when none is
// named) is up, ready and not unhealthy; 1 and a line per offender otherwise.
int check(const Context& ctx, const std::vector<std::string>& names);
// A run of a service: its pid and the pid's start time.
struct Instance {
  pid_t pid = 0;
  uint64_t start_time = 0;
};
// Waits until every named service is up, down or ready; with no name, every
// service (for up and ready: every service wanted up). `not_these`: for a
// named service, ready or up must be another instance than this one.
int wait_for(const Context& ctx, const std::string& condition, std::optional<int64_t> timeout_ms,
             const std::vector<std::string>& names,
             const std::map<std::string, Instance>& not_these = {});
// The instance running now, for each service that has one.
std::map<std::string, Instance> running_instances(const Context& ctx,
                                                  const std::vector<std::string>& names);
int scan(const Context& ctx);

// "NAME" or "NAME/log", each NAME a safe file name.
bool valid_service_name(const std::string& name);

}  // namespace svkit::svctl
