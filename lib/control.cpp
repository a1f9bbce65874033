#include "control.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "fd.hpp"
#include "files.hpp"

namespace svkit {

std::string control_path(const std::string& service_dir) {
  return service_dir + "/supervise/control";
}

SendResult send_control(const std::string& service_dir, std::string_view letters) {
  using Kind = SendResult::Kind;
  UniqueFd fd(::open(control_path(service_dir).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    if (err == EACCES || err == EPERM) return {Kind::permission_denied, err};
    if (err == ENXIO || err == ENOENT || err == ENOTDIR) return {Kind::not_supervised, err};
    return {Kind::error, err};
  }
  ssize_t n;
  do {
    n = ::write(fd.get(), letters.data(), letters.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    return {err == EPIPE ? Kind::not_supervised : Kind::error, err};
  }
  return n == static_cast<ssize_t>(letters.size()) ? SendResult{} : SendResult{Kind::error, EIO};
}

bool is_supervised(const std::string& service_dir) {
  return is_supervised_at(AT_FDCWD, service_dir);
}

bool is_supervised_at(int dirfd, const std::string& service_dir) {
  // supervise holds the control FIFO open for reading while it runs: opening
  // it for writing succeeds exactly then. Two system calls, where the lock
  // takes three; the lock is the fallback for who may not open the FIFO.
  UniqueFd fifo(
      ::openat(dirfd, control_path(service_dir).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (fifo) return true;
  if (errno != EACCES && errno != EPERM) return false;
  UniqueFd fd(::openat(dirfd, (service_dir + "/supervise/lock").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  return ::flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

// A line of /proc/locks: "7: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF",
// the device as hexadecimal major:minor, the inode in decimal. Waiters'
// lines ("7: -> FLOCK ...") hold nothing.
std::optional<HeldLocks> HeldLocks::read() {
  auto text = read_small_file("/proc/locks", 64 * 1024 * 1024);
  if (!text) return std::nullopt;
  HeldLocks locks;
  std::string_view rest(*text);
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (line.find(" FLOCK ") == std::string_view::npos ||
        line.find(" WRITE ") == std::string_view::npos ||
        line.find("->") != std::string_view::npos) {
      continue;
    }
    unsigned major = 0, minor = 0;
    unsigned long long inode = 0;
    // The device is the sixth word: skip "ID: FLOCK ADVISORY WRITE PID ".
    std::string_view words = line;
    for (int skip = 0; skip < 5; ++skip) {
      words.remove_prefix(std::min(words.find_first_not_of(' '), words.size()));
      words.remove_prefix(std::min(words.find(' '), words.size()));
    }
    words.remove_prefix(std::min(words.find_first_not_of(' '), words.size()));
    const std::string file(words.substr(0, words.find(' ')));
    if (std::sscanf(file.c_str(), "%x:%x:%llu", &major, &minor, &inode) != 3) continue;
    locks.files_.emplace(uint64_t(makedev(major, minor)), uint64_t(inode));
  }
  return locks;
}

bool HeldLocks::held(uint64_t device, uint64_t inode) const {
  return inode != 0 && files_.contains({device, inode});
}

}  // namespace svkit
