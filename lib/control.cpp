#include "control.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "fd.hpp"

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

}  // namespace svkit
