// The control protocol: one byte per command, written to supervise/control
// (a FIFO, owner-only). Letters follow s6-svc where s6 has one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace svkit {

namespace control {
constexpr char kUp = 'u';
constexpr char kDown = 'd';
constexpr char kOnce = 'o';
constexpr char kExit = 'x';
constexpr char kRestart = 'r';  // down-signal; the restart policy brings it back
constexpr char kTerm = 't';
constexpr char kKill = 'k';
constexpr char kHup = 'h';
constexpr char kInt = 'i';
constexpr char kQuit = 'q';
constexpr char kAlarm = 'a';
constexpr char kUsr1 = '1';
constexpr char kUsr2 = '2';
constexpr char kStop = 'p';
constexpr char kCont = 'c';
// svscan to supervise: the wait status of the run it adopted is in
// supervise/reaped (svscan, the subreaper, reaped it).
constexpr char kReaped = 'R';
// svscan to supervise: a service named in your dependencies.d changed (its
// status was replaced). One inotify instance in svscan serves every waiting
// supervise: the per-user limit of inotify instances (128 by default) is far
// below a container's count of services.
constexpr char kDependencyChanged = 'D';
}  // namespace control

std::string control_path(const std::string& service_dir);

struct SendResult {
  enum class Kind { ok, not_supervised, permission_denied, error } kind = Kind::ok;
  int errnum = 0;  // errno of the failed call
};

// Writes `letters` to the service's control FIFO without blocking. A FIFO
// with no reader means no supervise runs there.
SendResult send_control(const std::string& service_dir, std::string_view letters);

// Is a supervise holding the service's lock?
bool is_supervised(const std::string& service_dir);
// The same for `service_dir` relative to the folder `dirfd` (AT_FDCWD: as is):
// a caller that checks a thousand services saves their path walks.
bool is_supervised_at(int dirfd, const std::string& service_dir);

// The files locked with flock for writing, by device and inode, from one read
// of /proc/locks. Every supervise holds its lock (and says which file it is in
// its status), so a listing of many services learns which of them live
// without opening each one's FIFO. A lock not listed proves nothing (a
// supervise in a pid namespace that is not ours is hidden): ask the FIFO.
class HeldLocks {
 public:
  // Nullopt when /proc/locks cannot be read.
  static std::optional<HeldLocks> read();
  bool held(uint64_t device, uint64_t inode) const;

 private:
  void add(std::string_view line);

  std::vector<std::pair<uint64_t, uint64_t>> files_;  // device and inode, sorted
};

}  // namespace svkit
