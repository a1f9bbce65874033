// Persisted operator intent: STATE/profiles/NAME/state.json (DESIGN.md
// "Persisted profile state"). `want` is written only by operator actions and
// by a consumed planned-stop marker; supervise adds what it last observed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace svkit::state {

// What supervise last saw of the profile's service.
struct Observation {
  std::string event;  // "started" or "exited"
  int64_t at_ms = 0;
  pid_t pid = 0;
  int code = -1;   // when exited normally
  int signal = 0;  // when killed
  std::string instance;
  bool operator==(const Observation&) const = default;
};

struct ProfileState {
  int schema = 1;
  bool want_up = true;
  std::string updated_at;
  std::string by;
  std::optional<Observation> last;
  bool operator==(const ProfileState&) const = default;
};

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
// unknown-schema file is a named error and the conservative default.
ReadResult read_profile_state(const std::string& path);
ReadResult parse_profile_state(const std::string& text);
// Atomic and durable: temp file, fsync, rename, fsync of the folder.
std::string write_profile_state(const std::string& path, const ProfileState& state);

std::string profiles_dir(const std::string& state_dir);
std::string profile_dir(const std::string& state_dir, const std::string& name);
std::string state_file(const std::string& state_dir, const std::string& name);
bool is_profile(const std::string& state_dir, const std::string& name);

// Read-modify-write under the profile's lock, so that an operator's `want`
// and supervise's observation never overwrite each other. Both return an
// error line or empty.
std::string set_want(const std::string& state_dir, const std::string& name, bool want_up,
                     const std::string& by);
// Records an observation; leaves a missing or corrupt file alone (reconcile
// reports those; supervise must not invent an intent).
std::string record_observation(const std::string& state_dir, const std::string& name,
                               const Observation& observation);

}  // namespace svkit::state
