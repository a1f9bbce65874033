#include "stages.hpp"

#include <dirent.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/instance.hpp"
#include "../lib/json.hpp"
#include "../lib/log.hpp"
#include "../lib/number.hpp"
#include "../lib/proc.hpp"
#include "s6rc.hpp"

namespace svkit::init {

namespace fs = std::filesystem;

namespace {

uint64_t env_number(const char* name, uint64_t fallback, uint64_t max) {
  const std::string text = env_or(name, "");
  if (text.empty()) return fallback;
  const auto value = parse_number<uint64_t>(text);
  if (!value || *value > max) {
    spdlog::warn("{}: \"{}\" is not a whole number from 0 to {}; using {}", name, text, max,
                 fallback);
    return fallback;
  }
  return *value;
}

std::string errno_text() {
  return std::strerror(errno);
}

// A tmpfs when it is one already or svinit may mount one; else the folder as
// it is (unprivileged). Either way emptied of an earlier boot's slots. Only a
// PID 1 mounts: its mount namespace is the container's, and the mount goes
// with it; a plain svinit on a host would leave a stray mount behind.
std::string prepare_scandir(const std::string& scandir, std::string& kind) {
  if (auto failure = make_dirs(scandir)) {
    return "scandir " + scandir + " is not usable: " + failure->line;
  }
  if (!is_directory(scandir)) return "scandir " + scandir + " is not a directory";
  struct statfs info {};
  if (::statfs(scandir.c_str(), &info) == 0 && info.f_type == TMPFS_MAGIC) {
    kind = "tmpfs";
  } else if (::getpid() == 1 &&
             ::mount("tmpfs", scandir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0) {
    kind = "tmpfs mounted";
  } else {
    kind = "plain folder";
  }
  std::error_code ec;
  for (auto it = fs::directory_iterator(scandir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    fs::remove_all(it->path(), ec);
    if (ec) return "cannot empty scandir " + scandir + ": " + ec.message();
  }
  if (ec) return "cannot read scandir " + scandir + ": " + ec.message();
  if (::access(scandir.c_str(), W_OK) != 0) {
    return "scandir " + scandir + " is not writable: " + errno_text();
  }
  return {};
}

// Built in a dot-named sibling and renamed into place, so that no reader ever
// sees a half-made slot. A service that cannot be copied is one error line.
bool copy_service(const fs::path& source, const std::string& scandir, const std::string& name) {
  const fs::path staging = fs::path(scandir) / ("." + name);
  std::error_code ec, ignored;
  fs::remove_all(staging, ignored);
  std::string error;
  if (auto failure = copy_tree(source.string(), staging.string())) {
    error = failure->line;
  } else {
    fs::rename(staging, fs::path(scandir) / name, ec);
    if (!ec) return true;
    error = ec.message();
  }
  spdlog::error("cannot copy service {} into {}: {}", source.string(), scandir, error);
  fs::remove_all(staging, ignored);
  return false;
}

int copy_services(const std::string& services_dir, const std::string& scandir) {
  int copied = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(services_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code bad;
    if (!is_safe_name(name) || !it->is_directory(bad)) continue;
    // A symlinked service is copied from its target: supervise must not write into the image.
    const fs::path source = fs::canonical(it->path(), bad);
    if (!bad && copy_service(source, scandir, name)) ++copied;
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    spdlog::error("cannot read services dir {}: {}", services_dir, ec.message());
  }
  return copied;
}

}  // namespace

Settings Settings::from_environment() {
  Settings s;
  s.stage2_behaviour = static_cast<int>(env_number("SVKIT_BEHAVIOUR_IF_STAGE2_FAILS", 2, 2));
  s.services_grace_ms = env_number("SVKIT_SERVICES_GRACETIME", 5000, 86'400'000);
  s.kill_grace_ms = env_number("SVKIT_KILL_GRACETIME", 3000, 86'400'000);
  s.cmd_wait_ms = env_number("SVKIT_CMD_WAIT_FOR_SERVICES_MAXTIME", 0, 86'400'000);
  s.http_listen = env_or("SVKIT_HTTP_LISTEN", "");
  if (const std::string log = env_or("SVKIT_TERMINATION_LOG", ""); !log.empty()) {
    s.termination_log = log;
    s.termination_log_create = true;
  }
  return s;
}

void export_paths(const Paths& paths) {
  ::setenv("SVKIT_SCANDIR", paths.scandir.c_str(), 1);
  ::setenv("SVKIT_RUNDIR", paths.rundir.c_str(), 1);
  ::setenv("SVKIT_STATE_DIR", paths.state_dir.c_str(), 1);
  ::setenv("SVKIT_SERVICES_DIR", paths.services_dir.c_str(), 1);
  ::setenv("SVKIT_CONT_INIT_DIR", paths.cont_init_dir.c_str(), 1);
  ::setenv("SVKIT_LOG_DIR", paths.log_dir.c_str(), 1);
}

namespace {

// Why `folder` cannot take svkit's files, or nullopt when it can.
std::optional<Error> unwritable(const std::string& folder) {
  if (auto failure = make_dirs(folder)) return failure;
  if (::access(folder.c_str(), W_OK) != 0) return errno_error(folder);
  return std::nullopt;
}

// Non-root with a read-only root: the defaults under /var are not writable.
void choose_writable_folders(Paths& paths) {
  if (auto why = unwritable(paths.log_dir)) {
    const std::string fallback = paths.rundir + "/log";
    spdlog::warn("SVKIT_LOG_DIR {} is not writable ({}): service logs and evidence go to {}",
                 paths.log_dir, std::strerror(why->errnum), fallback);
    paths.log_dir = fallback;
  }
  if (!is_directory(paths.state_dir)) {
    if (auto why = unwritable(paths.state_dir)) {
      const std::string fallback = paths.rundir + "/state";
      spdlog::warn(
          "SVKIT_STATE_DIR {} cannot be made ({}): profiles are kept in {} and do not "
          "survive a container restart",
          paths.state_dir, std::strerror(why->errnum), fallback);
      paths.state_dir = fallback;
    }
  } else if (::access(paths.state_dir.c_str(), W_OK) != 0) {
    spdlog::warn(
        "SVKIT_STATE_DIR {} is not writable ({}): profiles are read, but svctl up, "
        "down, add and remove cannot save an operator's intent",
        paths.state_dir, std::strerror(errno));
  }
  export_paths(paths);
  nlohmann::json effective = {{"log_dir", paths.log_dir}, {"state_dir", paths.state_dir}};
  if (auto failure = write_file_atomic(effective_paths_file(paths.rundir), json_line(effective),
                                       Durability::runtime)) {
    spdlog::warn("{}", failure->line);
  }
}

// SVKIT_S6RC_DIRS: s6-rc source trees, colon-separated.
void import_s6rc_trees(const std::string& scandir) {
  std::vector<std::string> sources;
  const std::string list = env_or("SVKIT_S6RC_DIRS", "/etc/s6-overlay/s6-rc.d:/etc/svkit/s6-rc.d");
  for (size_t pos = 0; pos <= list.size();) {
    const size_t end = std::min(list.find(':', pos), list.size());
    if (end > pos && is_directory(list.substr(pos, end - pos))) {
      sources.push_back(list.substr(pos, end - pos));
    }
    pos = end + 1;
  }
  if (sources.empty()) return;
  std::vector<std::string> legacy;
  if (auto names = folder_names(scandir)) {
    for (auto& name : *names) {
      if (!name.starts_with('.')) legacy.push_back(std::move(name));
    }
  }
  const auto imported = import_s6rc(sources, scandir, legacy);
  spdlog::info("stage 1: s6-rc source {}: {} longruns, {} oneshots, {} bundles; {} start", list,
               imported.longruns, imported.oneshots, imported.bundles, imported.started.size());
}

}  // namespace

std::string run_stage1(Paths& paths) {
  auto id = write_fresh_instance_id(paths.rundir);
  if (!id) return "run dir " + paths.rundir + " is not usable: " + id.error().line;
  choose_writable_folders(paths);
  std::string kind;
  if (auto err = prepare_scandir(paths.scandir, kind); !err.empty()) return err;
  const int copied = copy_services(paths.services_dir, paths.scandir);
  spdlog::info("stage 1: instance {}, scandir {} ({}), {} services copied from {}", *id,
               paths.scandir, kind, copied, paths.services_dir);
  import_s6rc_trees(paths.scandir);
  return {};
}

std::vector<std::string> list_hooks(const std::string& dir) {
  std::vector<std::string> hooks;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::error_code ignored;
    if (it->path().filename().string().starts_with('.') || it->is_directory(ignored)) continue;
    hooks.push_back(it->path().string());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    spdlog::error("cannot read cont-init dir {}: {}", dir, ec.message());
  }
  std::sort(hooks.begin(), hooks.end());
  return hooks;
}

std::vector<pid_t> descendants_of(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  if (DIR* proc = ::opendir("/proc")) {
    while (dirent* entry = ::readdir(proc)) {
      pid_t pid = 0;
      const char* end = entry->d_name + std::strlen(entry->d_name);
      auto [ptr, ec] = std::from_chars(entry->d_name, end, pid);
      if (ec != std::errc() || ptr != end) continue;
      if (auto parent = parent_of(pid)) children.emplace(*parent, pid);
    }
    ::closedir(proc);
  }
  std::vector<pid_t> found;
  std::vector<pid_t> queue{root};
  for (size_t i = 0; i < queue.size(); ++i) {
    auto [first, last] = children.equal_range(queue[i]);
    for (auto it = first; it != last; ++it) {
      queue.push_back(it->second);
      found.push_back(it->second);
    }
  }
  return found;
}

int exit_code_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited " + std::to_string(WEXITSTATUS(wait_status));
  return "was killed by " + signal_name(WTERMSIG(wait_status));
}

}  // namespace svkit::init
