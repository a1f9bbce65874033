#include "reconciler.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../state/profile_state.hpp"
#include "../state/runtime_record.hpp"
#include "../state/slot.hpp"

namespace svkit::reconcile {

namespace {

constexpr off_t kBootLogLimit = 256 * 1024;

bool pattern_is_confined(const std::string& pattern) {
  if (pattern.empty() || pattern.front() == '/') return false;
  std::stringstream parts(pattern);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part == "..") return false;
  }
  return true;
}

// Deletes the files of service/runtime-files (globs, relative to the profile
// folder, never leaving it). Returns how many were removed.
int sweep_runtime_files(const std::string& profile, const std::string& name) {
  auto list = read_small_file(profile + "/service/runtime-files", kRecordFileCap);
  if (!list) {
    if (list.error().errnum != ENOENT) spdlog::warn("profile {}: {}", name, list.error().line);
    return 0;
  }
  const std::string root = state::resolved(profile);
  int swept = 0;
  std::stringstream lines(*list);
  std::string pattern;
  while (std::getline(lines, pattern)) {
    pattern.erase(0, pattern.find_first_not_of(" \t"));
    pattern.erase(pattern.find_last_not_of(" \t\r") + 1);
    if (pattern.empty() || pattern.front() == '#') continue;
    if (!pattern_is_confined(pattern)) {
      spdlog::warn("profile {}: runtime-files: \"{}\" leaves the profile folder; ignored", name,
                   pattern);
      continue;
    }
    glob_t matches{};
    if (::glob((profile + "/" + pattern).c_str(), GLOB_NOSORT, nullptr, &matches) == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) {
        const std::string match = matches.gl_pathv[i];
        struct stat st;
        if (::lstat(match.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
        // The folder holding the match must resolve inside the profile.
        if (!state::is_inside(state::resolved(std::filesystem::path(match).parent_path()) + "/x",
                              root))
          continue;
        if (::unlink(match.c_str()) == 0) ++swept;
      }
    }
    ::globfree(&matches);
  }
  return swept;
}

// svkit's pid record is stale when it comes from another instance or names a
// dead or different process; the runtime files are stale whenever no instance
// of the service runs in this container instance.
int sweep(const std::string& profile, const std::string& name, const std::string& instance) {
  int swept = 0;
  auto record = state::read_pid_record(profile);
  const bool live = record && state::is_live(*record, instance);
  if (record && !live && ::unlink(state::pid_record_path(profile).c_str()) == 0) ++swept;
  if (!live) swept += sweep_runtime_files(profile, name);
  return swept;
}

std::string prior_exit_of(const state::ReadResult& read, const std::string& instance) {
  if (read.outcome != state::ReadOutcome::ok || !read.state.last) return "unknown";
  const auto& last = *read.state.last;
  if (last.event == state::Observation::Event::exited) return "clean";
  // Started in this very instance: still running, not a prior exit.
  return last.instance == instance ? "unknown" : "unclean";
}

std::string quoted_value(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_of(" \"=\\\n\t") == std::string::npos;
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\t') ? ' ' : c;
  }
  return out + "\"";
}

}  // namespace

Outcome reconcile_profile(const Context& ctx, const std::string& name) {
  Outcome out;
  out.profile = name;
  if (!is_safe_name(name)) {
    out.error = "not a safe profile name";
    return out;
  }
  const std::string profile = state::profile_dir(ctx.state_dir, name);
  const std::string service = profile + "/service";
  if (state::check_containment(ctx.state_dir, name, ctx.profiles_root)) {
    out.error = "symlink leads out of the state dir";
    return out;
  }
  auto read = state::read_profile_state(state::state_file(ctx.state_dir, name));
  switch (read.outcome) {
    case state::ReadOutcome::ok:
      out.prior_state = read.state.want_up ? "up" : "down";
      break;
    case state::ReadOutcome::missing:
      out.prior_state = "missing";
      break;
    case state::ReadOutcome::corrupt:
      out.prior_state = "corrupt";
      break;
  }
  if (read.outcome != state::ReadOutcome::ok) spdlog::warn("profile {}: {}", name, read.error);
  out.prior_exit = prior_exit_of(read, ctx.instance);
  out.swept = sweep(profile, name, ctx.instance);
  if (!is_directory(service)) {
    out.error = "no service/ folder in " + profile;
    return out;
  }
  const bool want_up = read.outcome == state::ReadOutcome::ok && read.state.want_up;
  if (auto failure = state::build_slot(ctx.scandir, service, name, want_up)) {
    out.error = failure->line;
    return out;
  }
  out.action = want_up ? "started" : "registered";
  return out;
}

Result<std::vector<Outcome>> reconcile_all(const Context& ctx) {
  std::vector<std::string> names;
  const std::string folder = state::profiles_dir(ctx.state_dir);
  DIR* dir = ::opendir(folder.c_str());
  if (!dir) {
    if (errno != ENOENT) return errno_error("cannot read " + folder);
    return std::vector<Outcome>{};
  }
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  Context resolved = ctx;
  resolved.profiles_root = state::resolved(folder);
  std::vector<Outcome> outcomes;
  outcomes.reserve(names.size());
  for (const auto& name : names) outcomes.push_back(reconcile_profile(resolved, name));
  return outcomes;
}

std::string logfmt_line(const std::string& timestamp, const Outcome& o) {
  std::string line = "ts=" + timestamp + " profile=" + quoted_value(o.profile) +
                     " prior_state=" + o.prior_state + " action=" + o.action +
                     " prior_exit=" + o.prior_exit + " swept=" + std::to_string(o.swept);
  if (!o.error.empty()) line += " error=" + quoted_value(o.error);
  return line;
}

Failure append_boot_log(const std::string& state_dir, const std::string& lines) {
  const std::string folder = state_dir + "/logs";
  const std::string path = folder + "/boot.log";
  if (auto failure = make_dirs(folder)) return failure;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > kBootLogLimit) {
    ::rename(path.c_str(), (path + ".1").c_str());
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return errno_error("cannot open " + path);
  std::string_view rest(lines);
  while (!rest.empty()) {
    ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("cannot write " + path);
    rest.remove_prefix(size_t(n));
  }
  if (::fsync(fd.get()) != 0) return errno_error("cannot fsync " + path);
  return std::nullopt;
}

}  // namespace svkit::reconcile
