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

int system_error_code(const Error& error) {
  return error.errnum == EACCES || error.errnum == EPERM || error.errnum == EROFS
             ? exit_code::kPermission
             : exit_code::kSystem;
}

std::string service_dir(const Context& ctx, const std::string& name) {
  return ctx.scandir + "/" + name;
}

// May this user change the service (its control FIFO), and its profile when
// it has one? One line and exit 4 when not; nothing else is tried.
int check_may_change(const Context& ctx, const std::string& name) {
  const std::string fifo = control_path(service_dir(ctx, name));
  if (::access(fifo.c_str(), W_OK) != 0 && (errno == EACCES || errno == EPERM)) {
    error_line(name + ": permission denied (cannot write " + fifo + ")");
    return exit_code::kPermission;
  }
  const std::string profile = state::profile_dir(ctx.state_dir, name);
  if (!state::is_profile(ctx.state_dir, name)) return exit_code::kOk;
  if (auto refused = state::check_containment(ctx.state_dir, name)) {
    error_line(name + ": " + refused->line + "; nothing was changed");
    return exit_code::kSystem;
  }
  if (::access(profile.c_str(), W_OK) != 0 &&
      (errno == EACCES || errno == EPERM || errno == EROFS)) {
    error_line(name + ": permission denied (cannot write its profile " + profile + ")");
    return exit_code::kPermission;
  }
  return exit_code::kOk;
}

int send_one(const Context& ctx, const std::string& name, char letter) {
  const std::string dir = service_dir(ctx, name);
  const SendResult sent = send_control(dir, std::string_view(&letter, 1));
  switch (sent.kind) {
    case SendResult::Kind::ok:
      return exit_code::kOk;
    case SendResult::Kind::not_supervised:
      error_line(name + ": not supervised (no supervise listens in " + dir + ")");
      return exit_code::kNotSupervised;
    case SendResult::Kind::permission_denied:
      error_line(name + ": permission denied on its control FIFO");
      return exit_code::kPermission;
    case SendResult::Kind::error:
      break;
  }
  error_line(errno_error(name + ": cannot send control command", sent.errnum).line);
  return exit_code::kSystem;
}

// Persisted first: when the intent cannot be saved, nothing else is done.
int persist_want(const Context& ctx, const std::string& name, bool want_up, const char* by) {
  if (!state::is_profile(ctx.state_dir, name)) return exit_code::kOk;
  if (auto failure = state::set_want(ctx.state_dir, name, want_up, by)) {
    error_line(name + ": want " + (want_up ? "up" : "down") +
               " not saved, so nothing was changed: " + failure->line);
    return system_error_code(*failure);
  }
  return exit_code::kOk;
}

// Names the running instance (pid and start time) in the marker; a service
// that is not up has nothing to mark (fine unless `required`).
int write_marker_for(const Context& ctx, const std::string& name, bool required) {
  const std::string dir = service_dir(ctx, name);
  auto status = read_status(dir);
  const char* problem = nullptr;
  if (!is_supervised(dir) || !status) {
    problem = "not supervised";
  } else if (status->state != RunState::up || status->pid <= 0) {
    problem = "not up; no planned-stop marker written";
  }
  std::optional<uint64_t> start_time;
  if (!problem) {
    start_time = process_start_time(status->pid);
    if (!start_time || *start_time != status->pid_start_time) {
      problem = "its process is gone; no planned-stop marker written";
    }
  }
  if (problem) {
    if (!required) return exit_code::kOk;
    error_line(name + ": " + problem);
    return exit_code::kNotSupervised;
  }
  if (auto failure = state::write_marker(dir, {status->pid, *start_time, now_ms()})) {
    error_line(name + ": " + failure->line);
    return system_error_code(*failure);
  }
  return exit_code::kOk;
}

// Runs `steps` for each name, stopping a name's steps at its first failure
// (so a failure is one line), and returns the worst code.
template <class Steps>
int for_each_name(const std::vector<std::string>& names, Steps steps) {
  int code = exit_code::kOk;
  for (const auto& name : names) code = worse(code, steps(name));
  return code;
}

}  // namespace

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

bool valid_service_name(const std::string& name) {
  auto slash = name.find('/');
  if (slash == std::string::npos) return is_safe_name(name);
  return name.substr(slash) == "/log" && is_safe_name(name.substr(0, slash));
}

int send_letter(const Context& ctx, char letter, const std::vector<std::string>& names) {
  return for_each_name(names, [&](const std::string& name) {
    if (int code = check_may_change(ctx, name)) return code;
    return send_one(ctx, name, letter);
  });
}

int up(const Context& ctx, const std::vector<std::string>& names) {
  return for_each_name(names, [&](const std::string& name) {
    if (int code = check_may_change(ctx, name)) return code;
    if (int code = persist_want(ctx, name, true, state::by::kSvctlUp)) return code;
    return send_one(ctx, name, control::kUp);
  });
}

int down(const Context& ctx, const std::vector<std::string>& names) {
  return for_each_name(names, [&](const std::string& name) {
    if (int code = check_may_change(ctx, name)) return code;
    // The marker first: it is the one step that can be taken back.
    if (int code = write_marker_for(ctx, name, false)) return code;
    if (int code = persist_want(ctx, name, false, state::by::kSvctlDown)) {
      ::unlink(state::marker_path(service_dir(ctx, name)).c_str());
      return code;
    }
    return send_one(ctx, name, control::kDown);
  });
}

int mark_stop(const Context& ctx, const std::vector<std::string>& names) {
  return for_each_name(names, [&](const std::string& name) {
    if (int code = check_may_change(ctx, name)) return code;
    return write_marker_for(ctx, name, true);
  });
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

Failure stage_profile(const std::string& staging, const std::vector<std::string>& command) {
  std::string run = "#!/bin/sh\nexec";
  for (const auto& word : command) run += " " + shell_quote(word);
  run += "\n";
  if (auto failure = make_dirs(staging + "/service")) return failure;
  if (auto failure = write_file_atomic(staging + "/service/run", run, Durability::durable, 0755)) {
    return failure;
  }
  state::ProfileState fresh{
      .want_up = true, .updated_at = rfc3339(now_ms()), .by = state::by::kSvctlAdd};
  return state::write_profile_state(staging + "/state.json", fresh);
}

}  // namespace

int add(const Context& ctx, const std::string& name, const std::vector<std::string>& command) {
  if (!is_safe_name(name)) {
    error_line("\"" + name + "\" is not a profile name (UTF-8, no '/', no leading dot)");
    return exit_code::kUsage;
  }
  const std::string profile = state::profile_dir(ctx.state_dir, name);
  if (path_exists(profile)) {
    error_line(name + ": a profile of that name exists already (svctl remove it first)");
    return exit_code::kUsage;
  }
  if (path_exists(service_dir(ctx, name))) {
    error_line(name + ": the scandir already has a service of that name");
    return exit_code::kUsage;
  }
  // Built aside and renamed, so reconcile never sees half a profile.
  const std::string staging = state::profiles_dir(ctx.state_dir) + "/." + name + ".new";
  std::error_code ignored;
  std::filesystem::remove_all(staging, ignored);
  Failure failure = stage_profile(staging, command);
  if (!failure && ::rename(staging.c_str(), profile.c_str()) != 0) {
    failure = errno_error("cannot rename " + staging);
  }
  if (failure) {
    std::filesystem::remove_all(staging, ignored);
    error_line(name + ": not added: " + failure->line);
    return system_error_code(*failure);
  }
  if (auto slot = state::build_slot(ctx.scandir, profile + "/service", name, true)) {
    error_line(name +
               ": profile saved (it starts at the next boot), but no slot now: " + slot->line);
    return system_error_code(*slot);
  }
  state::request_rescan(ctx.rundir);
  return exit_code::kOk;
}

int remove(const Context& ctx, const std::string& name) {
  if (!state::is_profile(ctx.state_dir, name)) {
    error_line(name + ": no such profile in " + state::profiles_dir(ctx.state_dir));
    return exit_code::kNotSupervised;
  }
  if (int code = check_may_change(ctx, name)) return code;
  const std::string slot = service_dir(ctx, name);
  if (is_supervised(slot)) {
    if (int code = write_marker_for(ctx, name, false)) return code;
    if (int code = send_one(ctx, name, control::kDown)) return code;
    // Bounded: a service that will not stop is SIGKILLed by its timeout-kill.
    if (int code = wait_for(ctx, "down", 60'000, {name})) return code;
  }
  std::error_code ec;
  std::filesystem::remove_all(slot, ec);
  if (!ec) std::filesystem::remove_all(state::profile_dir(ctx.state_dir, name), ec);
  if (ec) {
    error_line(name + ": cannot delete: " + ec.message());
    return system_error_code(Error{ec.message(), ec.value()});
  }
  state::request_rescan(ctx.rundir);
  return exit_code::kOk;
}

int stat(const Context& ctx, const std::vector<std::string>& names, bool json) {
  const bool listing = names.empty();
  const auto targets = listing ? all_services(ctx.scandir) : names;
  const int64_t now = now_ms();
  int code = exit_code::kOk;
  nlohmann::json array = nlohmann::json::array();
  // Text goes out line by line through stdout's buffer: a listing's text built
  // whole first would touch some 50 KiB more of fresh heap.
  auto print = [](const std::string& line) { std::fwrite(line.data(), 1, line.size(), stdout); };
  // Paths relative to the scandir: a listing walks a thousand services' paths.
  const UniqueFd scandir(::open(ctx.scandir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Which supervise processes live, for a whole listing at once: one read, not
  // a FIFO each. The read costs about a microsecond per lock held on the
  // machine, a FIFO two to six per service asked, so named services ask FIFOs.
  const auto locks = listing && targets.size() >= 16 ? HeldLocks::read() : std::nullopt;
  for (const auto& name : targets) {
    std::optional<Status> status;
    if (scandir) {
      auto read = read_status_at(scandir.get(), name);
      const bool live = read && ((locks && locks->held(read->lock_device, read->lock_inode)) ||
                                 is_supervised_at(scandir.get(), name));
      if (live) status = std::move(*read);
    }
    if (!status) {
      if (!listing) code = worse(code, exit_code::kNotSupervised);
      if (json) {
        array.push_back({{"name", name}, {"supervised", false}});
      } else {
        print(name + ": not supervised\n");
      }
      continue;
    }
    if (json) {
      nlohmann::json j = *status;
      j["supervised"] = true;
      array.push_back(std::move(j));
    } else {
      print(stat_line(*status, now) + "\n");
    }
  }
  if (json) print(json_line(array));
  return code;
}

int check(const Context& ctx, const std::vector<std::string>& names) {
  const bool every = names.empty();
  int code = exit_code::kOk;
  for (const auto& name : every ? all_services(ctx.scandir) : names) {
    const std::string dir = service_dir(ctx, name);
    auto status = is_supervised(dir) ? read_status(dir) : Result<Status>(Error{});
    std::string because;
    if (!status) {
      because = "not supervised";
    } else if (every && status->want != Want::up) {
      continue;
    } else {
      because = not_ready_because(*status);
    }
    if (because.empty()) continue;
    std::printf("%s: %s\n", name.c_str(), because.c_str());
    code = exit_code::kNotSupervised;
  }
  return code;
}

namespace {

bool condition_holds(const std::string& condition, const Status& s, const Instance* not_this) {
  if (condition == "down") return s.state != RunState::up && s.state != RunState::finish;
  if (s.state != RunState::up) return false;
  if (not_this && s.pid == not_this->pid && s.pid_start_time == not_this->start_time) return false;
  return condition == "up" || s.ready_since_ms > 0;
}

// Every service, or (for up and ready) every service wanted up: by its
// status, or by its `down` file while supervise has not written one yet.
std::vector<std::string> every_service_for(const Context& ctx, const std::string& condition) {
  auto names = all_services(ctx.scandir);
  if (condition == "down") return names;
  std::erase_if(names, [&](const std::string& name) { return !wanted_up(service_dir(ctx, name)); });
  return names;
}

}  // namespace

std::map<std::string, Instance> running_instances(const Context& ctx,
                                                  const std::vector<std::string>& names) {
  std::map<std::string, Instance> running;
  for (const auto& name : names) {
    auto s = read_status(service_dir(ctx, name));
    if (s && s->state == RunState::up && s->pid > 0) running[name] = {s->pid, s->pid_start_time};
  }
  return running;
}

int wait_for(const Context& ctx, const std::string& condition, std::optional<int64_t> timeout_ms,
             const std::vector<std::string>& named,
             const std::map<std::string, Instance>& not_these) {
  const auto names = named.empty() ? every_service_for(ctx, condition) : named;
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify) {
    error_line(errno_error("cannot watch status files").line);
    return exit_code::kSystem;
  }
  // Watch first, then read: a change between the two still wakes us. A
  // service whose supervise has not yet made its folder is watched through
  // the service folder until it appears.
  std::vector<std::string> unwatched = names;
  auto watch_status_folders = [&]() -> bool {
    std::erase_if(unwatched, [&](const std::string& name) {
      const std::string dir = service_dir(ctx, name);
      if (::inotify_add_watch(inotify.get(), (dir + "/supervise").c_str(),
                              IN_MOVED_TO | IN_CLOSE_WRITE) >= 0) {
        return true;
      }
      ::inotify_add_watch(inotify.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO);
      return false;
    });
    for (const auto& name : unwatched) {
      if (!is_directory(service_dir(ctx, name))) {
        error_line(name + ": not supervised (no service directory in " + ctx.scandir + ")");
        return false;
      }
    }
    return true;
  };
  const int64_t deadline = timeout_ms ? monotonic_ms() + *timeout_ms : 0;
  for (;;) {
    if (!watch_status_folders()) return exit_code::kNotSupervised;
    std::vector<std::string> missing;
    for (const auto& name : names) {
      const std::string dir = service_dir(ctx, name);
      auto s = read_status(dir);
      const auto old = not_these.find(name);
      // Up or ready only by a live supervise's word: the status a dead one
      // left says "up" about a process nobody watches.
      if (!s || !condition_holds(condition, *s, old == not_these.end() ? nullptr : &old->second) ||
          (condition != "down" && !is_supervised(dir))) {
        missing.push_back(name);
      }
    }
    if (missing.empty() && unwatched.empty()) return exit_code::kOk;
    int wait_ms = -1;
    if (timeout_ms) {
      const int64_t left = deadline - monotonic_ms();
      if (left <= 0) {
        std::string who;
        for (const auto& name : missing) who += (who.empty() ? "" : ", ") + name;
        error_line("timed out after " + std::to_string(*timeout_ms) + " ms waiting for " +
                   condition + ": " + who);
        return exit_code::kTimedOut;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left, 1 << 30));
    }
    pollfd pfd{inotify.get(), POLLIN, 0};
    if (::poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
      error_line(errno_error("poll").line);
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
    const int err = errno;
    error_line("svscan is not running (cannot open " + fifo + ": " + std::strerror(err) + ")");
    return err == EACCES ? exit_code::kPermission : exit_code::kNotSupervised;
  }
  if (::write(fd.get(), "a", 1) != 1) {
    error_line(errno_error("cannot ask svscan to rescan").line);
    return exit_code::kSystem;
  }
  return exit_code::kOk;
}

}  // namespace svkit::svctl
