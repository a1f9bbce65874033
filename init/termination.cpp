#include "termination.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/log.hpp"
#include "../lib/status.hpp"

namespace svkit::init {

namespace {

// The end of `text` that fits in `room` bytes, cut at a line start.
std::string tail_lines(const std::string& text, size_t room) {
  if (text.size() <= room) return text;
  std::string tail = text.substr(text.size() - room);
  const size_t line = tail.find('\n');
  return line == std::string::npos ? tail : tail.substr(line + 1);
}

// The last kTerminationMessageCap bytes of a file (evidence can be larger).
std::string file_tail(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  const off_t from = std::max<off_t>(0, st.st_size - off_t(kTerminationMessageCap));
  std::string tail(size_t(st.st_size - from), '\0');
  const ssize_t n = ::pread(fd.get(), tail.data(), tail.size(), from);
  tail.resize(n > 0 ? size_t(n) : 0);
  return tail;
}

}  // namespace

std::string termination_message(int exit_code, const std::string& why,
                                const std::string& service_dir) {
  std::string message = "svinit: exit code " + std::to_string(exit_code) + ": " + why + "\n";
  if (service_dir.empty()) return message.substr(0, kTerminationMessageCap);
  auto status = read_status(service_dir);
  if (!status) return message.substr(0, kTerminationMessageCap);
  message += status->name + ": " + enum_word(status->state, kRunStateWords);
  if (!status->reason.empty()) message += ", " + status->reason;
  message += "\n";
  if (!status->halt_intent.is_null())
    message += "halt intent: " + status->halt_intent.dump() + "\n";
  if (!status->evidence.empty() && message.size() < kTerminationMessageCap) {
    message += "evidence " + status->evidence + ", last lines:\n";
    message +=
        tail_lines(file_tail(status->evidence),
                   kTerminationMessageCap - std::min(message.size(), kTerminationMessageCap));
  }
  return message.substr(0, kTerminationMessageCap);
}

void write_termination_message(const std::string& path, bool create, const std::string& message) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | (create ? O_CREAT : 0), 0644));
  if (!fd) {
    if (errno != ENOENT || create) {
      spdlog::warn("cannot write the termination message: {}", errno_error(path).line);
    }
    return;
  }
  const char* at = message.data();
  size_t left = message.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), at, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      spdlog::warn("cannot write the termination message: {}", errno_error(path).line);
      return;
    }
    at += n;
    left -= size_t(n);
  }
}

}  // namespace svkit::init
