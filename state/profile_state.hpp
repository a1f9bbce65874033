// Persisted operator intent: STATE/profiles/NAME/state.json (DESIGN.md
// "Persisted profile state"). `want` is written only by operator actions and
// by a consumed planned-stop marker; supervise adds what it last observed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "../lib/error.hpp"
#include "../lib/json.hpp"

namespace svkit::state {

// Who wrote `want` (state.json's "by").
namespace by {
constexpr const char* kSvctlUp = "svctl up";
constexpr const char* kSvctlDown = "svctl down";
constexpr const char* kSvctlAdd = "svctl add";
constexpr const char* kPlannedStop = "planned-stop";
}  // namespace by

// What supervise last saw of the profile's service.
struct Observation {
  enum class Event { started, exited } event = Event::started;
  int64_t at_ms = 0;
  pid_t pid = 0;
  int code = -1;   // when exited normally
  int signal = 0;  // when killed
  std::string instance{};
  bool operator==(const Observation&) const = default;
};

struct ProfileState {
  int schema = 1;
  bool want_up = true;
  std::string updated_at{};
  std::string by{};
  std::optional<Observation> last{};
  bool operator==(const ProfileState&) const = default;
};

// Strict: a wrong type, an unknown schema, `want` other than up/down or an
// unknown event throws nlohmann::json::exception.
void to_json(nlohmann::json& j, const Observation& o);
void from_json(const nlohmann::json& j, Observation& o);
void to_json(nlohmann::json& j, const ProfileState& s);
void from_json(const nlohmann::json& j, ProfileState& s);

enum class ReadOutcome { ok, missing, corrupt };

struct ReadResult {
  ReadOutcome outcome = ReadOutcome::missing;
  ProfileState state;  // the documented default (want down) unless ok
  std::string error;   // one line, for missing and corrupt
};

// Never throws: a missing, empty, truncated, non-JSON, mistyped or
// unknown-schema file (or one that is not a regular file) is a named error
// and the conservative default.
ReadResult read_profile_state(const std::string& path);
ReadResult parse_profile_state(const std::string& text);
// Atomic and durable: temp file, fsync, rename, fsync of the folder.
Failure write_profile_state(const std::string& path, const ProfileState& state);

std::string profiles_dir(const std::string& state_dir);
std::string profile_dir(const std::string& state_dir, const std::string& name);
std::string state_file(const std::string& state_dir, const std::string& name);
bool is_profile(const std::string& state_dir, const std::string& name);

// The one containment rule of svctl, supervise and reconcile: a profile's
// folder (and its service/) must resolve inside STATE/profiles, and its
// state.json, pid and state.lock must not be links. The refusal, or nullopt
// when it holds. `profiles_root` is STATE/profiles resolved (made when empty).
Failure check_containment(const std::string& state_dir, const std::string& name,
                          const std::string& profiles_root = {});
// realpath(3), or empty.
std::string resolved(const std::string& path);
// `path` (resolved) is strictly inside `folder` (resolved).
bool is_inside(const std::string& path, const std::string& folder);

// Read-modify-write under the profile's lock, so that an operator's `want`
// and supervise's observation never overwrite each other.
Failure set_want(const std::string& state_dir, const std::string& name, bool want_up,
                 const std::string& by);
// Records an observation; leaves a missing or corrupt file alone (reconcile
// reports those; supervise must not invent an intent).
Failure record_observation(const std::string& state_dir, const std::string& name,
                           const Observation& observation);

}  // namespace svkit::state
