#include "adoption.hpp"

#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/proc.hpp"

namespace svkit::supervise {

namespace {

// How long to wait for svscan's wait status once the process is gone.
constexpr uint64_t kReapedDeadlineMs = 1000;

}  // namespace

std::optional<pid_t> find_orphaned_run(const std::string& dir) {
  auto pid = recorded_run(dir);
  if (!pid || session_of(*pid) != *pid) return std::nullopt;
  std::error_code ec;
  const auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(*pid) + "/cwd", ec);
  const auto here = std::filesystem::canonical(dir, ec);
  if (ec || cwd != here) return std::nullopt;
  return pid;
}

AdoptedRun::AdoptedRun(uv_loop_t* loop, std::string dir, pid_t pid, UniqueFd pidfd, OnExit on_exit)
    : dir_(std::move(dir)),
      pid_(pid),
      pidfd_(std::move(pidfd)),
      on_exit_(std::move(on_exit)),
      status_deadline_(loop, [this] { deliver({.code = -1, .signal = 0, .at_ms = now_ms()}); }) {
  watch_ = uv::Readable(loop, pidfd_.get(), [this] { gone(); });
}

void AdoptedRun::gone() {
  if (gone_) return;
  gone_ = true;
  watch_.close();
  if (!deliver_reaped()) status_deadline_.start(kReapedDeadlineMs);
}

void AdoptedRun::reaped() {
  if (gone_) deliver_reaped();
}

bool AdoptedRun::deliver_reaped() {
  auto text = read_small_file(reaped_path(dir_), kConfigFileCap);
  if (!text) return false;
  auto json = nlohmann::json::parse(*text, nullptr, false);
  try {
    const auto reaped = json.get<Reaped>();
    if (reaped.pid != pid_) return false;
    ::unlink(reaped_path(dir_).c_str());  // read once: never mistaken for a later pid's
    deliver({.code = reaped.code, .signal = reaped.signal, .at_ms = reaped.at_ms});
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

void AdoptedRun::deliver(const ExitInfo& exit) {
  if (delivered_) return;
  delivered_ = true;
  status_deadline_.stop();
  on_exit_(exit);
}

}  // namespace svkit::supervise
