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

namespace {

// Reads status.json straight into a Status, without building a JSON tree:
// `svctl stat` reads one per service, and the tree was most of its time.
// Every key of to_json must be present with its type; unknown keys are skipped.
class StatusReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit StatusReader(Status& status) : s_(status) {}

  bool complete() const { return ok_ && seen_ == kAllTop; }
  const std::string& problem() const { return problem_; }

  bool null() override {
    if (skipping()) return true;
    if (in_ == Place::top && key_ == "last_exit") return mark(Field::last_exit);
    return wrong_type();
  }
  bool boolean(bool value) override {
    if (skipping()) return true;
    if (in_ == Place::top && key_ == "once") {
      s_.once = value;
      return mark(Field::once);
    }
    return unknown_or_wrong();
  }
  bool number_integer(number_integer_t value) override { return number(value); }
  bool number_unsigned(number_unsigned_t value) override {
    return number(static_cast<int64_t>(value));
  }
  bool number_float(number_float_t, const string_t&) override {
    return skipping() || unknown_or_wrong();
  }
  bool string(string_t& value) override {
    if (skipping()) return true;
    if (in_ == Place::errors) {
      s_.errors.push_back(std::move(value));
      return true;
    }
    if (in_ != Place::top) return wrong_type();
    if (key_ == "name") return set(s_.name, value, Field::name);
    if (key_ == "want_by") return set(s_.want_by, value, Field::want_by);
    if (key_ == "reason") return set(s_.reason, value, Field::reason);
    if (key_ == "health") return set(s_.health, value, Field::health);
    if (key_ == "evidence") return set(s_.evidence, value, Field::evidence);
    if (key_ == "want") {
      s_.want_up = value == "up";
      return mark(Field::want);
    }
    if (key_ == "normally") {
      s_.normally_up = value == "up";
      return mark(Field::normally);
    }
    if (key_ == "state") {
      for (auto [state, name] : kStates) {
        if (value == name) {
          s_.state = state;
          return mark(Field::state);
        }
      }
      return fail("unknown state \"" + value + "\"");
    }
    return unknown_or_wrong();
  }
  bool binary(binary_t&) override { return fail("binary value"); }
  bool start_object(std::size_t) override {
    if (depth_++ == 0) return true;
    if (skipping() || unknown_key()) return skip();
    if (in_ == Place::top && key_ == "last_exit") {
      in_ = Place::last_exit;
      s_.last_exit.emplace();
      exit_seen_ = 0;
      return true;
    }
    return wrong_type();
  }
  bool end_object() override {
    --depth_;
    if (skipping()) return end_skipped();
    if (in_ == Place::last_exit && depth_ == 1) {
      in_ = Place::top;
      if (exit_seen_ != 7) return fail("last_exit lacks code, signal or at_ms");
      return mark(Field::last_exit);
    }
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    if (skipping() || unknown_key()) return skip();
    if (in_ == Place::top && key_ == "errors") {
      in_ = Place::errors;
      s_.errors.clear();
      return true;
    }
    return wrong_type();
  }
  bool end_array() override {
    --depth_;
    if (skipping()) return end_skipped();
    if (in_ == Place::errors && depth_ == 1) {
      in_ = Place::top;
      return mark(Field::errors);
    }
    return true;
  }
  bool key(string_t& key) override {
    if (!skipping()) key_ = std::move(key);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    not_json_ = true;
    return fail("not JSON");
  }
  bool not_json() const { return not_json_; }

 private:
  enum class Place { top, last_exit, errors };
  enum class Field : uint32_t {
    name,
    state,
    pid,
    pid_start_time,
    since_ms,
    ready_since_ms,
    want,
    normally,
    once,
    want_by,
    restarts,
    next_start_ms,
    delay_ms,
    reason,
    health,
    evidence,
    errors,
    last_exit,
    count
  };
  static constexpr uint32_t kAllTop = (1u << uint32_t(Field::count)) - 1;

  bool number(int64_t value) {
    if (skipping()) return true;
    if (in_ == Place::last_exit) {
      if (key_ == "code") return exit_field(s_.last_exit->code, value, 1);
      if (key_ == "signal") return exit_field(s_.last_exit->signal, value, 2);
      if (key_ == "at_ms") {
        s_.last_exit->at_ms = value;
        exit_seen_ |= 4;
        return true;
      }
      return true;
    }
    if (in_ != Place::top) return wrong_type();
    if (key_ == "pid") return set_number(s_.pid, value, Field::pid);
    if (key_ == "pid_start_time")
      return set_number(s_.pid_start_time, value, Field::pid_start_time);
    if (key_ == "since_ms") return set_number(s_.since_ms, value, Field::since_ms);
    if (key_ == "ready_since_ms")
      return set_number(s_.ready_since_ms, value, Field::ready_since_ms);
    if (key_ == "restarts") return set_number(s_.restarts, value, Field::restarts);
    if (key_ == "next_start_ms") return set_number(s_.next_start_ms, value, Field::next_start_ms);
    if (key_ == "delay_ms") return set_number(s_.delay_ms, value, Field::delay_ms);
    return unknown_or_wrong();
  }
  template <class T>
  bool set_number(T& field, int64_t value, Field f) {
    field = static_cast<T>(value);
    return mark(f);
  }
  bool exit_field(int& field, int64_t value, uint32_t bit) {
    field = static_cast<int>(value);
    exit_seen_ |= bit;
    return true;
  }
  bool set(std::string& field, std::string& value, Field f) {
    field = std::move(value);
    return mark(f);
  }
  bool mark(Field f) {
    seen_ |= 1u << uint32_t(f);
    return true;
  }
  bool known(const std::string& key) const {
    static constexpr const char* kKeys[] = {
        "name",     "state",    "pid",    "pid_start_time", "since_ms", "ready_since_ms",
        "want",     "normally", "once",   "want_by",        "restarts", "next_start_ms",
        "delay_ms", "reason",   "health", "evidence",       "errors",   "last_exit"};
    for (const char* k : kKeys) {
      if (key == k) return true;
    }
    return false;
  }
  bool unknown_key() const { return in_ == Place::top && !known(key_); }
  // An unknown key (here or in last_exit) is skipped; a known one had the wrong type.
  bool unknown_or_wrong() {
    return (unknown_key() || in_ == Place::last_exit) ? true : wrong_type();
  }
  bool skipping() const { return skip_depth_ > 0; }
  bool end_skipped() {
    if (depth_ < skip_depth_) skip_depth_ = 0;
    return true;
  }
  bool skip() {
    skip_depth_ = depth_;
    return true;
  }
  bool wrong_type() { return fail("\"" + key_ + "\" has the wrong type"); }
  bool fail(std::string problem) {
    ok_ = false;
    problem_ = std::move(problem);
    return false;
  }

  Status& s_;
  std::string key_;
  Place in_ = Place::top;
  int depth_ = 0;
  int skip_depth_ = 0;
  uint32_t seen_ = 0;
  uint32_t exit_seen_ = 0;
  bool ok_ = true;
  bool not_json_ = false;
  std::string problem_;
};

}  // namespace

std::optional<Status> read_status(const std::string& service_dir, std::string* error) {
  const std::string path = status_path(service_dir);
  auto text = read_regular_file(path);
  if (!text) {
    if (error) *error = "no status file " + path;
    return std::nullopt;
  }
  Status status;
  StatusReader reader(status);
  const bool parsed = nlohmann::json::sax_parse(*text, &reader);
  if (parsed && reader.complete()) return status;
  if (error) {
    *error = reader.not_json()
                 ? "status file is not JSON: " + path
                 : "bad status file " + path + ": " +
                       (reader.problem().empty() ? "missing fields" : reader.problem());
  }
  return std::nullopt;
}

}  // namespace svkit
