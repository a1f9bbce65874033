#include "output.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "../lib/clock.hpp"
#include "../lib/files.hpp"
#include "../lib/json.hpp"

namespace svkit::supervise {

namespace {

// A line longer than this is cut into several stamped lines.
constexpr size_t kMaxLine = 4096;
// What one console write may hold: a pipe takes it whole or not at all.
constexpr size_t kConsoleAtomic = 4096;
constexpr size_t kStampSize = 24;  // "2026-11-26T21:00:00.123Z"

const char* stream_name(Stream stream) {
  switch (stream) {
    case Stream::out:
      return "stdout";
    case Stream::err:
      return "stderr";
    case Stream::health:
      return "health";
  }
  return "";
}

bool needs_escape(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) return true;
  }
  return false;
}

void append_json_string(std::string& out, std::string_view text) {
  if (!needs_escape(text)) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  out += json_line(nlohmann::json(std::string(text)));
  out.pop_back();  // json_line's newline
}

}  // namespace

BurstBuffer::~BurstBuffer() {
  if (data_) ::munmap(data_, size_);
}

char* BurstBuffer::mapped() {
  if (!data_) {
    void* map = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(map);
  }
  return data_;
}

char* BurstBuffer::data() {
  touched_ = true;
  return mapped();
}

void BurstBuffer::release() {
  if (data_ && touched_) ::madvise(data_, size_, MADV_DONTNEED);
  touched_ = false;
}

ServiceOutput::ServiceOutput(std::string folder, std::string name, uint64_t max_bytes,
                             uint64_t keep, Console console)
    : folder_(std::move(folder)),
      path_(folder_ + "/current"),
      name_(std::move(name)),
      health_name_(name_ + " health"),
      max_bytes_(max_bytes),
      keep_(keep),
      console_(console) {}

void ServiceOutput::set_limits(uint64_t max_bytes, uint64_t keep) {
  max_bytes_ = max_bytes;
  keep_ = keep;
}

std::pair<char*, size_t> ServiceOutput::read_buffer() {
  return {input_.mapped(), input_.size()};
}

Failure ServiceOutput::feed(Stream stream, size_t bytes, int64_t now_ms) {
  const std::string stamp = rfc3339(now_ms, true);
  std::string& partial = partial_[size_t(stream)];
  std::string_view rest(input_.data(), bytes);
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    if (newline == std::string_view::npos) {
      partial.append(rest);
      while (partial.size() >= kMaxLine) {
        add_line(stream, std::string_view(partial).substr(0, kMaxLine), stamp.c_str(), true);
        partial.erase(0, kMaxLine);
      }
      break;
    }
    const auto line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    if (partial.empty()) {
      add_line(stream, line, stamp.c_str(), false);
    } else {
      partial.append(line);
      add_line(stream, partial, stamp.c_str(), false);
      partial.clear();
    }
  }
  flush_file();
  flush_console_batch();
  return std::exchange(file_error_, std::nullopt);
}

Failure ServiceOutput::flush_partial(int64_t now_ms) {
  std::string stamp;  // only for a line there is (a service's death mostly has none)
  for (size_t s = 0; s < 2; ++s) {
    if (partial_[s].empty()) continue;
    if (stamp.empty()) stamp = rfc3339(now_ms, true);
    add_line(Stream(s), partial_[s], stamp.c_str(), false);
    partial_[s].clear();
  }
  flush_file();
  flush_console_batch();
  return std::exchange(file_error_, std::nullopt);
}

void ServiceOutput::idle() {
  input_.release();
  file_out_.release();
  console_batch_.release();
  for (auto& partial : partial_) {
    if (partial.empty()) std::string().swap(partial);
  }
}

void ServiceOutput::health_output(std::string_view text) {
  if (console_.fd < 0) return;
  const std::string stamp = rfc3339(now_ms(), true);
  while (!text.empty()) {
    const auto newline = std::min(text.find('\n'), text.size());
    if (newline > 0)
      add_console_line(Stream::health, text.substr(0, newline), stamp.c_str(), false);
    text.remove_prefix(std::min(newline + 1, text.size()));
  }
  flush_console_batch();
  console_batch_.release();
}

void ServiceOutput::add_line(Stream stream, std::string_view line, const char* stamp,
                             bool partial) {
  if (console_.fd >= 0) add_console_line(stream, line, stamp, partial);
  // A line longer than kMaxLine: several stamped lines in the file.
  for (std::string_view rest = line;;) {
    const auto piece = rest.substr(0, kMaxLine);
    const size_t need = kStampSize + 1 + piece.size() + 1;
    if (file_used_ + need > file_out_.size()) flush_file();
    char* out = file_out_.data() + file_used_;
    std::memcpy(out, stamp, kStampSize);
    out[kStampSize] = ' ';
    std::memcpy(out + kStampSize + 1, piece.data(), piece.size());
    out[need - 1] = '\n';
    file_used_ += need;
    rest.remove_prefix(piece.size());
    if (rest.empty()) break;
  }
}

void ServiceOutput::add_console_line(Stream stream, std::string_view line, const char* stamp,
                                     bool partial) {
  if (console_dropping_ && !file_failing_) {
    ++console_dropped_;
    ++console_dropped_total_;
    return;
  }
  std::string json;
  std::string_view text;
  if (console_.format == Console::Format::json) {
    json = "{\"ts\":\"";
    json.append(stamp, kStampSize);
    json += "\",\"service\":";
    append_json_string(json, name_);
    json += ",\"stream\":\"";
    json += stream_name(stream);
    json += "\",\"line\":";
    append_json_string(json, line);
    if (partial) json += ",\"partial\":true";
    json += "}\n";
    if (json.size() > kConsoleAtomic) {
      // Escaping made it too long: in two halves.
      const size_t half = line.size() / 2;
      add_console_line(stream, line.substr(0, half), stamp, true);
      add_console_line(stream, line.substr(half), stamp, partial);
      return;
    }
    text = json;
  } else {
    const std::string& who = stream == Stream::health ? health_name_ : name_;
    const size_t head = who.size() + (partial ? 4 : 3);
    if (head + line.size() + 1 > kConsoleAtomic) {
      const size_t room = kConsoleAtomic - (who.size() + 4) - 1;  // a piece's head is " |+ "
      add_console_line(stream, line.substr(0, room), stamp, true);
      add_console_line(stream, line.substr(room), stamp, partial);
      return;
    }
    if (console_used_ + head + line.size() + 1 > kConsoleAtomic) flush_console_batch();
    char* out = console_batch_.data() + console_used_;
    std::memcpy(out, who.data(), who.size());
    std::memcpy(out + who.size(), partial ? " |+ " : " | ", head - who.size());
    std::memcpy(out + head, line.data(), line.size());
    out[head + line.size()] = '\n';
    console_used_ += head + line.size() + 1;
    ++console_batch_lines_;
    return;
  }
  if (console_used_ + text.size() > kConsoleAtomic) flush_console_batch();
  std::memcpy(console_batch_.data() + console_used_, text.data(), text.size());
  console_used_ += text.size();
  ++console_batch_lines_;
}

void ServiceOutput::flush_console_batch() {
  if (console_used_ == 0) return;
  const std::string_view batch(console_batch_.data(), console_used_);
  const size_t lines = std::exchange(console_batch_lines_, 0);
  console_used_ = 0;
  if (!console_pending_.empty()) {  // keep the order: behind what waits
    console_pending_.append(batch);
    return;
  }
  ssize_t n;
  do {
    n = ::write(console_.fd, batch.data(), batch.size());
  } while (n < 0 && errno == EINTR);
  if (n == ssize_t(batch.size())) return;
  if (n < 0 && errno != EAGAIN) {
    console_gone();
    return;
  }
  const size_t written = n > 0 ? size_t(n) : 0;
  if (file_failing_) {
    console_pending_.append(batch.substr(written));
  } else if (written > 0) {
    console_pending_.append(batch.substr(written));  // a torn line is finished, not dropped
  } else {
    console_dropping_ = true;
    console_dropped_ += lines;
    console_dropped_total_ += lines;
  }
}

void ServiceOutput::console_writable() {
  if (console_.fd < 0) return;
  while (!console_pending_.empty()) {
    // Whole lines, at most kConsoleAtomic bytes at a time.
    size_t take = std::min(console_pending_.size(), kConsoleAtomic);
    if (take < console_pending_.size()) {
      const auto last = console_pending_.rfind('\n', take - 1);
      if (last != std::string::npos) take = last + 1;
    }
    const ssize_t n = ::write(console_.fd, console_pending_.data(), take);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      console_gone();
      return;
    }
    console_pending_.erase(0, size_t(n));
  }
  std::string().swap(console_pending_);
  if (!console_dropping_) return;
  std::string notice = name_ + " | [svkit: " + std::to_string(console_dropped_) +
                       " lines not shown here; the service log has them all: " + path_ + "]\n";
  if (console_.format == Console::Format::json) {
    nlohmann::json j = {{"ts", rfc3339(now_ms(), true)},
                        {"service", name_},
                        {"stream", "svkit"},
                        {"line", notice.substr(name_.size() + 3, notice.size() - name_.size() - 4)},
                        {"dropped", console_dropped_}};
    notice = json_line(j);
  }
  const ssize_t n = ::write(console_.fd, notice.data(), notice.size());
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    console_gone();
    return;
  }
  if (n != ssize_t(notice.size())) return;
  console_dropping_ = false;
  console_dropped_ = 0;
}

// Its reader closed (EPIPE) or it broke: no more copies; the file keeps all.
void ServiceOutput::console_gone() {
  console_.fd = -1;
  console_dropping_ = false;
  std::string().swap(console_pending_);
}

bool ServiceOutput::open_current() {
  if (fd_) return true;
  (void)make_dirs(folder_, 0750);  // a failure shows as the open's error
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd_) return false;
  struct stat st;
  size_ = ::fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return true;
}

void ServiceOutput::rotate() {
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

void ServiceOutput::flush_file() {
  if (file_used_ == 0) return;
  std::string_view rest(file_out_.data(), file_used_);
  file_used_ = 0;
  if (!open_current()) {
    if (!file_failing_) file_error_ = errno_error("cannot open service log " + path_);
    file_failing_ = true;
    return;
  }
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (!file_failing_) file_error_ = errno_error("cannot write service log " + path_);
      file_failing_ = true;
      fd_.reset();
      return;
    }
    rest.remove_prefix(size_t(n));
    size_ += uint64_t(n);
  }
  file_failing_ = false;
  if (size_ >= max_bytes_) rotate();
}

}  // namespace svkit::supervise
