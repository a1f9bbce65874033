#include "profile_state.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>

#include "../lib/clock.hpp"
#include "../lib/fd.hpp"
#include "../lib/files.hpp"

namespace svkit::state {

NLOHMANN_JSON_SERIALIZE_ENUM(Observation::Event, {{Observation::Event::started, "started"},
                                                  {Observation::Event::exited, "exited"}})

namespace {

[[noreturn]] void invalid(const std::string& what, const nlohmann::json& j) {
  throw nlohmann::json::other_error::create(501, what, &j);
}

}  // namespace

void to_json(nlohmann::json& j, const Observation& o) {
  j = {{"event", o.event}, {"at", rfc3339(o.at_ms)}, {"at_ms", o.at_ms},      {"pid", o.pid},
       {"code", o.code},   {"signal", o.signal},     {"instance", o.instance}};
}

void from_json(const nlohmann::json& j, Observation& o) {
  const auto event = j.at("event").get<std::string>();
  if (event != "started" && event != "exited") invalid("last.event must be started or exited", j);
  o.event = event == "started" ? Observation::Event::started : Observation::Event::exited;
  j.at("at_ms").get_to(o.at_ms);
  j.at("pid").get_to(o.pid);
  j.at("code").get_to(o.code);
  j.at("signal").get_to(o.signal);
  j.at("instance").get_to(o.instance);
}

void to_json(nlohmann::json& j, const ProfileState& s) {
  j = {{"schema", s.schema},
       {"want", s.want_up ? "up" : "down"},
       {"updated_at", s.updated_at},
       {"by", s.by}};
  if (s.last) j["last"] = *s.last;
}

void from_json(const nlohmann::json& j, ProfileState& s) {
  j.at("schema").get_to(s.schema);
  if (s.schema != 1) invalid("unknown schema " + std::to_string(s.schema), j);
  const auto want = j.at("want").get<std::string>();
  if (want != "up" && want != "down") invalid("want must be \"up\" or \"down\"", j);
  s.want_up = want == "up";
  j.at("updated_at").get_to(s.updated_at);
  j.at("by").get_to(s.by);
  s.last = j.contains("last") ? j.at("last").get<std::optional<Observation>>() : std::nullopt;
}

namespace {

ProfileState conservative_default() {
  ProfileState s;
  s.want_up = false;
  return s;
}

}  // namespace

ReadResult parse_profile_state(const std::string& text) {
  ReadResult result{ReadOutcome::corrupt, conservative_default(), {}};
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    result.error = "state file is empty";
    return result;
  }
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) {
    result.error = "state file is not JSON (truncated?)";
    return result;
  }
  try {
    result.state = json.get<ProfileState>();
    result.outcome = ReadOutcome::ok;
  } catch (const nlohmann::json::exception& e) {
    result.error = "state file is invalid: " + json_problem(e);
  }
  return result;
}

ReadResult read_profile_state(const std::string& path) {
  auto text = read_small_file(path, kRecordFileCap);
  if (!text) {
    const bool missing = text.error().errnum == ENOENT;
    return {missing ? ReadOutcome::missing : ReadOutcome::corrupt, conservative_default(),
            missing ? "no state file " + path : text.error().line};
  }
  auto result = parse_profile_state(*text);
  if (result.outcome != ReadOutcome::ok) result.error += " (" + path + ")";
  return result;
}

Failure write_profile_state(const std::string& path, const ProfileState& state) {
  return write_file_atomic(path, json_line(state), Durability::durable);
}

std::string profiles_dir(const std::string& state_dir) {
  return state_dir + "/profiles";
}

std::string profile_dir(const std::string& state_dir, const std::string& name) {
  return profiles_dir(state_dir) + "/" + name;
}

std::string state_file(const std::string& state_dir, const std::string& name) {
  return profile_dir(state_dir, name) + "/state.json";
}

bool is_profile(const std::string& state_dir, const std::string& name) {
  return is_safe_name(name) && is_directory(profile_dir(state_dir, name) + "/service");
}

std::string resolved(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

bool is_inside(const std::string& path, const std::string& folder) {
  return !path.empty() && !folder.empty() && path.size() > folder.size() &&
         path.compare(0, folder.size(), folder) == 0 && path[folder.size()] == '/';
}

namespace {

bool is_link(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

}  // namespace

Failure check_containment(const std::string& state_dir, const std::string& name,
                          const std::string& profiles_root) {
  const Error refused{"profile " + name + ": symlink leads out of the state dir", EPERM};
  const std::string root =
      profiles_root.empty() ? resolved(profiles_dir(state_dir)) : profiles_root;
  const std::string folder = profile_dir(state_dir, name);
  // Only links need resolving: a plain entry of a real folder stays in it.
  const std::string real_folder = is_link(folder) ? resolved(folder) : root + "/" + name;
  if (!is_inside(real_folder, root)) return refused;
  if (is_link(folder + "/service") && !is_inside(resolved(folder + "/service"), real_folder)) {
    return refused;
  }
  for (const char* file : {"state.json", "pid", "state.lock"}) {
    if (is_link(folder + "/" + file)) return refused;
  }
  return std::nullopt;
}

namespace {

// An exclusive lock on the profile's state.lock for one read-modify-write.
class ProfileLock {
 public:
  static Result<ProfileLock> take(const std::string& state_dir, const std::string& name) {
    const std::string path = profile_dir(state_dir, name) + "/state.lock";
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return errno_error("cannot open " + path);
    int rc;
    do {
      rc = ::flock(fd.get(), LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return errno_error("cannot lock " + path);
    return ProfileLock(std::move(fd));
  }

 private:
  explicit ProfileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace

Failure set_want(const std::string& state_dir, const std::string& name, bool want_up,
                 const std::string& by) {
  auto lock = ProfileLock::take(state_dir, name);
  if (!lock) return lock.error();
  const std::string path = state_file(state_dir, name);
  auto current = read_profile_state(path);
  ProfileState next = current.outcome == ReadOutcome::ok ? current.state : ProfileState{};
  next.want_up = want_up;
  next.by = by;
  next.updated_at = rfc3339(now_ms());
  return write_profile_state(path, next);
}

Failure record_observation(const std::string& state_dir, const std::string& name,
                           const Observation& observation) {
  auto lock = ProfileLock::take(state_dir, name);
  if (!lock) return lock.error();
  const std::string path = state_file(state_dir, name);
  auto current = read_profile_state(path);
  if (current.outcome != ReadOutcome::ok) return std::nullopt;
  current.state.last = observation;
  return write_profile_state(path, current.state);
}

}  // namespace svkit::state
