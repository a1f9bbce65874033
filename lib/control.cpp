#include "control.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

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

namespace {

// A line of /proc/locks: "7: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF",
// the device as hexadecimal major:minor, the inode in decimal. Waiters'
// lines ("7: -> FLOCK ...") hold nothing.
std::optional<std::pair<uint64_t, uint64_t>> flock_held_for_writing(std::string_view line) {
  if (line.find(" FLOCK ") == std::string_view::npos ||
      line.find(" WRITE ") == std::string_view::npos || line.find("->") != std::string_view::npos) {
    return std::nullopt;
  }
  // The device is the sixth word: skip "ID: FLOCK ADVISORY WRITE PID ".
  std::string_view words = line;
  for (int skip = 0; skip < 5; ++skip) {
    words.remove_prefix(std::min(words.find_first_not_of(' '), words.size()));
    words.remove_prefix(std::min(words.find(' '), words.size()));
  }
  words.remove_prefix(std::min(words.find_first_not_of(' '), words.size()));
  const char* const end = words.data() + words.size();
  unsigned major = 0, minor = 0;
  uint64_t inode = 0;
  auto read = std::from_chars(words.data(), end, major, 16);
  if (read.ec != std::errc() || read.ptr == end || *read.ptr != ':') return std::nullopt;
  read = std::from_chars(read.ptr + 1, end, minor, 16);
  if (read.ec != std::errc() || read.ptr == end || *read.ptr != ':') return std::nullopt;
  read = std::from_chars(read.ptr + 1, end, inode);
  if (read.ec != std::errc()) return std::nullopt;
  return std::pair{uint64_t(makedev(major, minor)), inode};
}

}  // namespace

// Read in pieces through one buffer, parsed line by line: a thousand
// supervisors' locks are some 50 KiB of text, and on a listing every page a
// short-lived svctl touches for the first time costs a page fault.
std::optional<HeldLocks> HeldLocks::read() {
  UniqueFd fd(::open("/proc/locks", O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  HeldLocks locks;
  char buf[8192];
  size_t kept = 0;  // the start of a line the last read cut off
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf + kept, sizeof buf - kept);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    std::string_view text(buf, kept + size_t(n));
    for (size_t eol; (eol = text.find('\n')) != std::string_view::npos;) {
      locks.add(text.substr(0, eol));
      text.remove_prefix(eol + 1);
    }
    if (n == 0) {
      locks.add(text);
      break;
    }
    // The kernel ends each read at a line's end; a cut line is kept anyway,
    // and one longer than the buffer, no lock line, is dropped.
    kept = text.size() < sizeof buf ? text.size() : 0;
    std::memmove(buf, text.data(), kept);
  }
  std::sort(locks.files_.begin(), locks.files_.end());
  return locks;
}

void HeldLocks::add(std::string_view line) {
  if (auto file = flock_held_for_writing(line)) files_.push_back(*file);
}

bool HeldLocks::held(uint64_t device, uint64_t inode) const {
  return inode != 0 && std::binary_search(files_.begin(), files_.end(), std::pair{device, inode});
}

}  // namespace svkit
