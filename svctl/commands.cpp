#include "commands.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include <filesystem>
#include "../lib/clock.hpp"
#include "../lib/control.hpp"
#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/paths.hpp"
#include "../lib/proc.hpp"
#include "../lib/status.hpp"
#include "../state/planned_stop.hpp"
#include "../state/profile_state.hpp"
#include "../state/slot.hpp"
#include "stat_line.hpp"

namespace svkit::svctl {

namespace {

void error_line(const std::string& line) {
  std::fprintf(stderr, "svctl: %s\n", line.c_str());
}

// The worse of two exit codes: the one a script most needs to see.
int worse(int a, int b) {
  auto rank = [](int code) {
    switch (code) {
      case exit_code::kOk:
        return 0;
      case exit_code::kNotSupervised:
        return 1;
      case exit_code::kTimedOut:
        return 2;
      case exit_code::kPermission:
        return 3;
      default:
        return 4;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

std::vector<std::string> all_services(const std::string& scandir) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(scandir.c_str());
  if (!dir) return names;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    // d_type saves a stat per service; links and unknown types are checked.
    if (e->d_type == DT_DIR || ((e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) &&
                                is_directory(scandir + "/" + e->d_name))) {
      names.emplace_back(e->d_name);
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool valid_service_name(const std::string& name) {
  auto slash = name.find('/');
  if (slash == std::string::npos) return is_safe_name(name);
  return name.substr(slash) == "/log" && is_safe_name(name.substr(0, slash));
}

int send_letters(const Context& ctx, const std::string& letters,
                 const std::vector<std::string>& names) {
  int code = exit_code::kOk;
  for (const auto& name : names) {
    switch (send_control(ctx.scandir + "/" + name, letters)) {
      case SendResult::ok:
        break;
      case SendResult::not_supervised:
        error_line(name + ": not supervised (no supervise listens in " + ctx.scandir + "/" + name +
                   ")");
        code = worse(code, exit_code::kNotSupervised);
        break;
      case SendResult::permission_denied:
        error_line(name + ": permission denied on its control FIFO");
        code = worse(code, exit_code::kPermission);
        break;
      case SendResult::error:
        error_line(name + ": cannot send control command: " + std::strerror(errno));
        code = worse(code, exit_code::kSystem);
        break;
    }
  }
  return code;
}

namespace {

int persist_want(const Context& ctx, const std::string& name, bool want_up, const char* by) {
  if (!state::is_profile(ctx.state_dir, name)) return exit_code::kOk;
  if (auto err = state::set_want(ctx.state_dir, name, want_up, by); !err.empty()) {
    error_line(name + ": cannot persist want=" + (want_up ? "up" : "down") + ": " + err);
    return exit_code::kSystem;
  }
  return exit_code::kOk;
}

// Names the running instance (pid and start time) in the marker; a service
// that is not up has nothing to mark.
int write_marker_for(const Context& ctx, const std::string& name, bool required) {
  const std::string dir = ctx.scandir + "/" + name;
  auto status = is_supervised(dir) ? read_status(dir) : std::nullopt;
  if (!status) {
    if (required) error_line(name + ": not supervised");
    return required ? exit_code::kNotSupervised : exit_code::kOk;
  }
  if (status->state != RunState::up || status->pid <= 0) {
    if (required) error_line(name + ": not up; no planned-stop marker written");
    return required ? exit_code::kNotSupervised : exit_code::kOk;
  }
  const auto start_time = process_start_time(status->pid);
  if (!start_time || *start_time != status->pid_start_time) {
    if (required) error_line(name + ": its process is gone; no planned-stop marker written");
    return required ? exit_code::kNotSupervised : exit_code::kOk;
  }
  if (auto err = state::write_marker(dir, {status->pid, *start_time, now_ms()}); !err.empty()) {
    error_line(name + ": " + err);
    return errno == EACCES ? exit_code::kPermission : exit_code::kSystem;
  }
  return exit_code::kOk;
}

}  // namespace

int up(const Context& ctx, const std::vector<std::string>& names) {
  int code = exit_code::kOk;
  for (const auto& name : names) {
    code = worse(code, persist_want(ctx, name, true, "svctl up"));
    code = worse(code, send_letters(ctx, "u", {name}));
  }
  return code;
}

int down(const Context& ctx, const std::vector<std::string>& names) {
  int code = exit_code::kOk;
  for (const auto& name : names) {
    code = worse(code, write_marker_for(ctx, name, false));
    code = worse(code, persist_want(ctx, name, false, "svctl down"));
    code = worse(code, send_letters(ctx, "d", {name}));
  }
  return code;
}

int mark_stop(const Context& ctx, const std::vector<std::string>& names) {
  int code = exit_code::kOk;
  for (const auto& name : names) code = worse(code, write_marker_for(ctx, name, true));
  return code;
}

namespace {

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

int add(const Context& ctx, const std::string& name, const std::vector<std::string>& command) {
  if (name.find('/') != std::string::npos) {
    error_line("\"" + name + "\" is not a profile name");
    return exit_code::kUsage;
  }
  const std::string profile = state::profile_dir(ctx.state_dir, name);
  if (path_exists(profile)) {
    error_line(name + ": a profile of that name exists already (svctl remove it first)");
    return exit_code::kUsage;
  }
  if (path_exists(ctx.scandir + "/" + name)) {
    error_line(name + ": the scandir already has a service of that name");
    return exit_code::kUsage;
  }
  std::string run = "#!/bin/sh\nexec";
  for (const auto& word : command) run += " " + shell_quote(word);
  run += "\n";
  // Built aside and renamed, so reconcile never sees half a profile.
  const std::string staging = state::profiles_dir(ctx.state_dir) + "/." + name + ".new";
  std::error_code ignored;
  std::filesystem::remove_all(staging, ignored);
  std::string err;
  if (!make_dirs(staging + "/service")) {
    err = "cannot create " + staging + "/service: " + std::strerror(errno);
  }
  if (err.empty()) err = write_file_atomic(staging + "/service/run", run, true);
  if (err.empty() && ::chmod((staging + "/service/run").c_str(), 0755) != 0) {
    err = std::string("chmod: ") + std::strerror(errno);
  }
  state::ProfileState fresh;
  fresh.want_up = true;
  fresh.by = "svctl add";
  fresh.updated_at = rfc3339(now_ms());
  if (err.empty()) err = state::write_profile_state(staging + "/state.json", fresh);
  if (err.empty() && ::rename(staging.c_str(), profile.c_str()) != 0) {
    err = "cannot rename " + staging + ": " + std::strerror(errno);
  }
  if (!err.empty()) {
    std::filesystem::remove_all(staging, ignored);
    error_line(name + ": " + err);
    return exit_code::kSystem;
  }
  if (auto slot_err = state::build_slot(ctx.scandir, profile + "/service", name, true);
      !slot_err.empty()) {
    error_line(name + ": profile saved, but " + slot_err);
    return exit_code::kSystem;
  }
  state::request_rescan(ctx.rundir);
  return exit_code::kOk;
}

int remove(const Context& ctx, const std::string& name) {
  if (!state::is_profile(ctx.state_dir, name)) {
    error_line(name + ": no such profile in " + state::profiles_dir(ctx.state_dir));
    return exit_code::kNotSupervised;
  }
  const std::string slot = ctx.scandir + "/" + name;
  if (is_supervised(slot)) {
    write_marker_for(ctx, name, false);
    send_letters(ctx, "d", {name});
    // Bounded: a service that will not stop is SIGKILLed by its timeout-kill.
    wait_for(ctx, "down", 60'000, {name});
  }
  std::error_code ec;
  std::filesystem::remove_all(slot, ec);
  if (!ec) std::filesystem::remove_all(state::profile_dir(ctx.state_dir, name), ec);
  if (ec) {
    error_line(name + ": cannot delete: " + ec.message());
    return exit_code::kSystem;
  }
  state::request_rescan(ctx.rundir);
  return exit_code::kOk;
}

int stat(const Context& ctx, const std::vector<std::string>& names, bool json) {
  const bool listing = names.empty();
  const auto targets = listing ? all_services(ctx.scandir) : names;
  if (listing && !is_directory(ctx.scandir)) {
    error_line("scandir " + ctx.scandir + " does not exist");
    return exit_code::kSystem;
  }
  const int64_t now = now_ms();
  int code = exit_code::kOk;
  nlohmann::json array = nlohmann::json::array();
  std::string text;
  for (const auto& name : targets) {
    const std::string dir = ctx.scandir + "/" + name;
    std::string error;
    std::optional<Status> status;
    if (is_supervised(dir)) status = read_status(dir, &error);
    if (!status) {
      if (!listing) code = worse(code, exit_code::kNotSupervised);
      if (json) {
        array.push_back({{"name", name}, {"supervised", false}});
      } else {
        text += name + ": not supervised\n";
      }
      continue;
    }
    if (json) {
      nlohmann::json j = *status;
      j["supervised"] = true;
      array.push_back(std::move(j));
    } else {
      text += stat_line(*status, now) + "\n";
    }
  }
  if (json) text = array.dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  return code;
}

namespace {

bool condition_holds(const std::string& condition, const Status& s) {
  if (condition == "up") return s.state == RunState::up;
  if (condition == "ready") return s.state == RunState::up && s.ready_since_ms > 0;
  return s.state != RunState::up && s.state != RunState::finish;  // down
}

}  // namespace

int wait_for(const Context& ctx, const std::string& condition, std::optional<int64_t> timeout_ms,
             const std::vector<std::string>& names) {
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify) {
    error_line(std::string("cannot watch status files: ") + std::strerror(errno));
    return exit_code::kSystem;
  }
  // Watch first, then read: a change between the two still wakes us. A
  // service whose supervise has not yet made its folder is watched through
  // the service folder until it appears.
  std::vector<std::string> unwatched = names;
  auto watch_status_folders = [&]() -> bool {
    std::erase_if(unwatched, [&](const std::string& name) {
      const std::string dir = ctx.scandir + "/" + name;
      if (::inotify_add_watch(inotify.get(), (dir + "/supervise").c_str(),
                              IN_MOVED_TO | IN_CLOSE_WRITE) >= 0) {
        return true;
      }
      ::inotify_add_watch(inotify.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO);
      return false;
    });
    for (const auto& name : unwatched) {
      if (!is_directory(ctx.scandir + "/" + name)) {
        error_line(name + ": not supervised (no service directory in " + ctx.scandir + ")");
        return false;
      }
    }
    return true;
  };
  const int64_t deadline = timeout_ms ? monotonic_ms() + *timeout_ms : 0;
  for (;;) {
    if (!watch_status_folders()) return exit_code::kNotSupervised;
    bool all = unwatched.empty();
    for (const auto& name : names) {
      auto s = read_status(ctx.scandir + "/" + name);
      if (!s || !condition_holds(condition, *s)) {
        all = false;
        break;
      }
    }
    if (all) return exit_code::kOk;
    int wait_ms = -1;
    if (timeout_ms) {
      const int64_t left = deadline - monotonic_ms();
      if (left <= 0) {
        error_line("timed out after " + std::to_string(*timeout_ms) + " ms waiting for " +
                   condition);
        return exit_code::kTimedOut;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left, 1 << 30));
    }
    pollfd pfd{inotify.get(), POLLIN, 0};
    if (::poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
      error_line(std::string("poll: ") + std::strerror(errno));
      return exit_code::kSystem;
    }
    char events[4096];
    while (::read(inotify.get(), events, sizeof events) > 0) {
    }
  }
}

int scan(const Context& ctx) {
  const std::string fifo = svscan_control_path(ctx.rundir);
  UniqueFd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    error_line("svscan is not running (cannot open " + fifo + ": " + std::strerror(errno) + ")");
    return errno == EACCES ? exit_code::kPermission : exit_code::kNotSupervised;
  }
  if (::write(fd.get(), "a", 1) != 1) {
    error_line(std::string("cannot ask svscan to rescan: ") + std::strerror(errno));
    return exit_code::kSystem;
  }
  return exit_code::kOk;
}

}  // namespace svkit::svctl
