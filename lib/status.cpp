#include "status.hpp"

#include <array>
#include <utility>

#include "files.hpp"

namespace svkit {

namespace {
constexpr std::array<std::pair<RunState, const char*>, 6> kStates{{
    {RunState::down, "down"},
    {RunState::up, "up"},
    {RunState::finish, "finish"},
    {RunState::backoff, "backoff"},
    {RunState::halted, "halted"},
    {RunState::failed, "failed"},
}};

RunState state_from_string(const std::string& text) {
  for (auto [state, name] : kStates) {
    if (text == name) return state;
  }
  throw nlohmann::json::other_error::create(501, "unknown state \"" + text + "\"", nullptr);
}
}  // namespace

const char* to_string(RunState state) {
  for (auto [s, name] : kStates) {
    if (s == state) return name;
  }
  return "unknown";
}

void to_json(nlohmann::json& j, const ExitInfo& e) {
  j = {{"code", e.code}, {"signal", e.signal}, {"at_ms", e.at_ms}};
}

void from_json(const nlohmann::json& j, ExitInfo& e) {
  j.at("code").get_to(e.code);
  j.at("signal").get_to(e.signal);
  j.at("at_ms").get_to(e.at_ms);
}

void to_json(nlohmann::json& j, const Status& s) {
  j = {{"name", s.name},
       {"state", to_string(s.state)},
       {"pid", s.pid},
       {"pid_start_time", s.pid_start_time},
       {"since_ms", s.since_ms},
       {"ready_since_ms", s.ready_since_ms},
       {"want", s.want_up ? "up" : "down"},
       {"normally", s.normally_up ? "up" : "down"},
       {"once", s.once},
       {"want_by", s.want_by},
       {"restarts", s.restarts},
       {"next_start_ms", s.next_start_ms},
       {"delay_ms", s.delay_ms},
       {"reason", s.reason},
       {"health", s.health},
       {"evidence", s.evidence},
       {"errors", s.errors}};
  j["last_exit"] = s.last_exit ? nlohmann::json(*s.last_exit) : nlohmann::json(nullptr);
}

void from_json(const nlohmann::json& j, Status& s) {
  j.at("name").get_to(s.name);
  s.state = state_from_string(j.at("state").get<std::string>());
  j.at("pid").get_to(s.pid);
  j.at("pid_start_time").get_to(s.pid_start_time);
  j.at("since_ms").get_to(s.since_ms);
  j.at("ready_since_ms").get_to(s.ready_since_ms);
  s.want_up = j.at("want").get<std::string>() == "up";
  s.normally_up = j.at("normally").get<std::string>() == "up";
  j.at("once").get_to(s.once);
  j.at("want_by").get_to(s.want_by);
  j.at("restarts").get_to(s.restarts);
  j.at("next_start_ms").get_to(s.next_start_ms);
  j.at("delay_ms").get_to(s.delay_ms);
  j.at("reason").get_to(s.reason);
  j.at("health").get_to(s.health);
  j.at("evidence").get_to(s.evidence);
  j.at("errors").get_to(s.errors);
  if (j.at("last_exit").is_null()) {
    s.last_exit.reset();
  } else {
    s.last_exit = j.at("last_exit").get<ExitInfo>();
  }
}

std::string status_path(const std::string& service_dir) {
  return service_dir + "/supervise/status.json";
}

std::optional<Status> read_status(const std::string& service_dir, std::string* error) {
  auto text = read_file(status_path(service_dir));
  if (!text) {
    if (error) *error = "no status file " + status_path(service_dir);
    return std::nullopt;
  }
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded()) {
    if (error) *error = "status file is not JSON: " + status_path(service_dir);
    return std::nullopt;
  }
  try {
    return json.get<Status>();
  } catch (const nlohmann::json::exception& e) {
    if (error) *error = "bad status file " + status_path(service_dir) + ": " + e.what();
    return std::nullopt;
  }
}

}  // namespace svkit
