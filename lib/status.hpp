// supervise/status.json: what supervise knows of its service, replaced
// atomically on every change; read by svctl (stat, wait) and svinit. The
// struct is the format: its fields_of table below is the only spelling of the keys.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "json_fields.hpp"

namespace svkit {

enum class RunState { down, up, finish, backoff, halted, failed };
inline constexpr EnumWords<RunState, 6> kRunStateWords{{{RunState::down, "down"},
                                                        {RunState::up, "up"},
                                                        {RunState::finish, "finish"},
                                                        {RunState::backoff, "backoff"},
                                                        {RunState::halted, "halted"},
                                                        {RunState::failed, "failed"}}};
SVKIT_ENUM_WORDS(RunState, kRunStateWords)

enum class Want { down, up };
inline constexpr EnumWords<Want, 2> kWantWords{{{Want::down, "down"}, {Want::up, "up"}}};
SVKIT_ENUM_WORDS(Want, kWantWords)

// Who set `want` last: supervise at its start (from the `down` file), an
// operator's command (or planned-stop marker), or the restart policy giving up.
enum class WantBy { boot, operator_action, policy };
inline constexpr EnumWords<WantBy, 3> kWantByWords{
    {{WantBy::boot, "boot"}, {WantBy::operator_action, "operator"}, {WantBy::policy, "policy"}}};
SVKIT_ENUM_WORDS(WantBy, kWantByWords)

enum class Health { none, unknown, healthy, unhealthy };
inline constexpr EnumWords<Health, 4> kHealthWords{{{Health::none, ""},
                                                    {Health::unknown, "unknown"},
                                                    {Health::healthy, "healthy"},
                                                    {Health::unhealthy, "unhealthy"}}};
SVKIT_ENUM_WORDS(Health, kHealthWords)

struct ExitInfo {
  int code = -1;   // exit code, or -1 when killed
  int signal = 0;  // signal number when killed
  int64_t at_ms = 0;
  bool operator==(const ExitInfo&) const = default;
};
constexpr auto fields_of(std::type_identity<ExitInfo>) {
  using E = ExitInfo;
  return std::tuple{Field{"at_ms", &E::at_ms}, Field{"code", &E::code},
                    Field{"signal", &E::signal}};
}

struct Status {
  std::string name{};
  RunState state = RunState::down;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  int64_t since_ms = 0;        // when `state` began (wall clock, for people)
  int64_t ready_since_ms = 0;  // 0: not ready
  Want want = Want::down;
  Want normally = Want::up;  // the `down` file says down
  WantBy want_by = WantBy::boot;
  std::optional<ExitInfo> last_exit{};
  uint32_t restarts = 0;      // restarts supervise made on its own (not an operator's)
  int64_t next_start_ms = 0;  // when in backoff
  int64_t delay_ms = 0;       // the current restart delay
  std::string reason{};       // why it is down, halted or failed, for people
  Health health = Health::none;
  uint64_t health_failures = 0;  // health checks failed in a row
  std::string halt_name{};       // when halted: the code's name in halt-codes
  nlohmann::json halt_intent{};  // when halted: the service's halt-intent file (an object)
  std::string evidence{};        // the newest evidence file
  uint64_t console_dropped = 0;  // output lines not copied to a console that could not keep up
  uint64_t lock_device = 0;      // supervise/lock's st_dev and st_ino: HeldLocks
  uint64_t lock_inode = 0;
  std::vector<std::string> errors{};
  bool operator==(const Status&) const = default;
};
// The keys, in byte order (the order nlohmann writes them in).
constexpr auto fields_of(std::type_identity<Status>) {
  using S = Status;
  return std::tuple{Field{"console_dropped", &S::console_dropped},
                    Field{"delay_ms", &S::delay_ms},
                    Field{"errors", &S::errors},
                    Field{"evidence", &S::evidence},
                    Field{"halt_intent", &S::halt_intent},
                    Field{"halt_name", &S::halt_name},
                    Field{"health", &S::health},
                    Field{"health_failures", &S::health_failures},
                    Field{"last_exit", &S::last_exit},
                    Field{"lock_device", &S::lock_device},
                    Field{"lock_inode", &S::lock_inode},
                    Field{"name", &S::name},
                    Field{"next_start_ms", &S::next_start_ms},
                    Field{"normally", &S::normally},
                    Field{"pid", &S::pid},
                    Field{"pid_start_time", &S::pid_start_time},
                    Field{"ready_since_ms", &S::ready_since_ms},
                    Field{"reason", &S::reason},
                    Field{"restarts", &S::restarts},
                    Field{"since_ms", &S::since_ms},
                    Field{"state", &S::state},
                    Field{"want", &S::want},
                    Field{"want_by", &S::want_by}};
}

// supervise/reaped: the wait status of a run whose supervise had died, left
// by svscan (the subreaper that reaped it) for the supervise that adopted it.
struct Reaped {
  pid_t pid = 0;
  int code = -1;
  int signal = 0;
  int64_t at_ms = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Reaped, pid, code, signal, at_ms)
std::string reaped_path(const std::string& service_dir);
// A pid file's number (`supervise/pid`, `supervise/lock`), if it holds one above 1.
std::optional<pid_t> read_pid_file(const std::string& path);
// The pid supervise/pid names (the running run), if any.
std::optional<pid_t> recorded_run(const std::string& service_dir);
// Whoever reaped such a run (svscan, or svinit after svscan's own death)
// leaves its wait status for the supervise that adopted it, and says so.
void leave_reaped(const std::string& service_dir, pid_t pid, int wait_status);

// How svscan hands supervise the output pipes it holds for the service, so
// that they outlive any one supervise: `supervise --pipes DIR` finds run's
// stdout pipe on fds 3 (read) and 4 (write), its stderr pipe on 5 and 6, and
// the console on 7.
namespace held_pipes {
constexpr const char* kOption = "--pipes";
constexpr int kStdoutRead = 3, kStdoutWrite = 4, kStderrRead = 5, kStderrWrite = 6;
constexpr int kConsole = 7;  // the container's console (svscan's stdout)
}  // namespace held_pipes

// Why a service fails a readiness probe (`svctl check`, svinit's /readyz):
// "" when it is up, ready and not unhealthy.
std::string not_ready_because(const Status& status);
// Whether the service is wanted up: by its status, or (before its supervise
// wrote one) by the absence of a `down` file.
bool wanted_up(const std::string& service_dir);
// The slot's `type` file says oneshot (s6-rc); supervise's config reads it with its errors.
bool is_oneshot(const std::string& service_dir);

std::string status_path(const std::string& service_dir);
Result<Status> read_status(const std::string& service_dir);
// The same for `service_dir` relative to a scandir's fd (svctl stat, /status).
Result<Status> read_status_at(int scandir_fd, const std::string& service_dir);
Result<Status> parse_status(const std::string& text, const std::string& path);

}  // namespace svkit
