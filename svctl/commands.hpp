// svctl's commands. Each returns the exit code (DESIGN.md "svctl"):
// 0 done, 1 a named service is not supervised, 2 usage, 3 wait timed out,
// 4 permission denied, 111 system error. Errors go to stderr, one line each.
#pragma once

#include <cstdint>
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
int wait_for(const Context& ctx, const std::string& condition, std::optional<int64_t> timeout_ms,
             const std::vector<std::string>& names);
int scan(const Context& ctx);

// "NAME" or "NAME/log", each NAME a safe file name.
bool valid_service_name(const std::string& name);

}  // namespace svkit::svctl
