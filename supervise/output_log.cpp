#include "output_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"

namespace svkit::supervise {

namespace {
// A line longer than this is cut into several stamped lines.
constexpr size_t kMaxLine = 4096;
}  // namespace

OutputLog::OutputLog(std::string folder, uint64_t max_bytes, uint64_t keep)
    : folder_(std::move(folder)), path_(folder_ + "/current"), max_bytes_(max_bytes), keep_(keep) {}

void OutputLog::set_limits(uint64_t max_bytes, uint64_t keep) {
  max_bytes_ = max_bytes;
  keep_ = keep;
}

bool OutputLog::open_current() {
  if (fd_) return true;
  (void)make_dirs(folder_, 0750);  // a failure shows as the open's error
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd_) return false;
  struct stat st;
  size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return true;
}

void OutputLog::rotate() {
  fd_.reset();
  if (keep_ == 0) {
    ::unlink(path_.c_str());
  } else {
    for (uint64_t i = keep_; i > 1; --i) {
      ::rename((path_ + "." + std::to_string(i - 1)).c_str(),
               (path_ + "." + std::to_string(i)).c_str());
    }
    ::rename(path_.c_str(), (path_ + ".1").c_str());
  }
  size_ = 0;
}

Failure OutputLog::write_line(std::string_view line) {
  if (!open_current()) {
    if (failing_) return std::nullopt;
    failing_ = true;
    return errno_error("cannot open service log " + path_);
  }
  std::string stamped = rfc3339(now_ms(), true);
  stamped += ' ';
  stamped += line;
  stamped += '\n';
  ssize_t n = ::write(fd_.get(), stamped.data(), stamped.size());
  if (n < 0) {
    Error error = errno_error("cannot write service log " + path_);
    fd_.reset();
    if (failing_) return std::nullopt;
    failing_ = true;
    return error;
  }
  failing_ = false;
  size_ += static_cast<uint64_t>(n);
  if (size_ >= max_bytes_) rotate();
  return std::nullopt;
}

Failure OutputLog::append(Stream stream, std::string_view chunk) {
  std::string& partial = partial_[size_t(stream)];
  Failure error;
  while (!chunk.empty()) {
    auto newline = chunk.find('\n');
    if (newline == std::string_view::npos) {
      partial.append(chunk);
      chunk = {};
    } else {
      partial.append(chunk.substr(0, newline));
      chunk.remove_prefix(newline + 1);
      auto e = write_line(partial);
      if (!error) error = e;
      partial.clear();
    }
    while (partial.size() >= kMaxLine) {
      auto e = write_line(std::string_view(partial).substr(0, kMaxLine));
      if (!error) error = e;
      partial.erase(0, kMaxLine);
    }
  }
  return error;
}

Failure OutputLog::flush_partial() {
  Failure error;
  for (auto& partial : partial_) {
    if (partial.empty()) continue;
    auto e = write_line(partial);
    if (!error) error = e;
    partial.clear();
  }
  return error;
}

}  // namespace svkit::supervise
