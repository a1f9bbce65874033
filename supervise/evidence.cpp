#include "evidence.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "../lib/clock.hpp"
#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/proc.hpp"

namespace svkit::supervise {

void OutputRing::append(std::string_view data) {
  if (data.size() >= capacity_) {
    buffer_.assign(data.substr(data.size() - capacity_));
    head_ = 0;
    return;
  }
  if (buffer_.size() < capacity_) {
    const size_t room = capacity_ - buffer_.size();
    buffer_.append(data.substr(0, room));
    data.remove_prefix(std::min(room, data.size()));
  }
  while (!data.empty()) {  // full: overwrite the oldest bytes
    const size_t n = std::min(data.size(), capacity_ - head_);
    buffer_.replace(head_, n, data.substr(0, n));
    head_ = (head_ + n) % capacity_;
    data.remove_prefix(n);
  }
}

std::string OutputRing::contents() const {
  if (buffer_.size() < capacity_ || head_ == 0) return buffer_;
  return buffer_.substr(head_) + buffer_.substr(0, head_);
}

namespace {

// "20261126T210000.123Z": sorts like time, safe in a file name.
std::string compact_time(int64_t ms) {
  std::string t = rfc3339(ms, true);
  std::erase(t, '-');
  std::erase(t, ':');
  return t;
}

std::string render(const EvidenceReport& r) {
  std::string text = "service: " + r.service + "\nreason: " + r.reason + "\n";
  if (!r.next.empty()) text += "next: " + r.next + "\n";
  text += "pid: " + std::to_string(r.pid) + "\n";
  text += "started: " + rfc3339(r.started_ms, true) + "\n";
  text += "ended: " + rfc3339(r.ended_ms, true) + "\n";
  text += "uptime_ms: " + std::to_string(r.ended_ms - r.started_ms) + "\n";
  text += "restarts: " + std::to_string(r.restarts) + "\n";
  if (r.exit) {
    text += r.exit->signal ? "signal: " + signal_name(r.exit->signal) + "\n"
                           : "exit_code: " + std::to_string(r.exit->code) + "\n";
  }
  text += "\n--- last health check output ---\n" + r.health_output;
  if (!r.health_output.empty() && r.health_output.back() != '\n') text += '\n';
  text += "\n--- last " + std::to_string(r.output.size()) + " bytes of output ---\n" + r.output;
  return text;
}

}  // namespace

Result<WrittenEvidence> EvidenceFolder::write(const EvidenceReport& report, uint64_t keep) {
  if (!listed_) {
    if (auto failure = list()) return *failure;
  }
  const std::string name = compact_time(report.ended_ms) + "-" + report.reason_slug + ".log";
  const std::string text = render(report);
  // Room first, so the folder never holds more than `keep`.
  keep_newest(std::max<uint64_t>(keep, 1) - 1);
  auto written = write_file(name, text);
  if (!written && written.error().errnum == ENOENT) {
    // The folder was removed under us (an operator clearing it): made and
    // listed again, and the evidence written there.
    if (auto failure = list()) return *failure;
    written = write_file(name, text);
  }
  if (!written) return written;
  // Two deaths of one kind in one millisecond share a file name.
  if (!names_.ends_with("\n" + name + "\n") && names_ != name + "\n") {
    names_ += name + "\n";
    ++count_;
  }
  return written;
}

// Renamed into place, so a reader never sees half a file; no folder fsync
// (evidence is never replaced, and this is on the restart path).
Result<WrittenEvidence> EvidenceFolder::write_file(const std::string& name,
                                                   const std::string& text) {
  const std::string path = path_ + "/" + name;
  const std::string tmp = path + ".tmp";
  // Owner and group only: the output may hold secrets.
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd || ::write(fd.get(), text.data(), text.size()) != ssize_t(text.size()) ||
      ::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = errno_error("cannot write " + path);
    if (fd) ::unlink(tmp.c_str());
    return error;
  }
  return WrittenEvidence{path, std::move(fd)};
}

// Files an earlier supervise left count too.
std::optional<Error> EvidenceFolder::list() {
  if (auto failure = make_dirs(path_, 0750)) return failure;
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(path_.c_str())) {
    while (dirent* e = ::readdir(dir)) {
      std::string name = e->d_name;
      if (name.size() > 4 && name.ends_with(".log")) names.push_back(std::move(name));
    }
    ::closedir(dir);
  }
  std::sort(names.begin(), names.end());
  names_.clear();
  for (const auto& name : names) names_ += name + "\n";
  count_ = names.size();
  listed_ = true;
  return std::nullopt;
}

// A file already removed by someone else is simply gone.
void EvidenceFolder::keep_newest(uint64_t keep) {
  while (count_ > keep) {
    const size_t end = names_.find('\n');
    ::unlink((path_ + "/" + names_.substr(0, end)).c_str());
    names_.erase(0, end + 1);
    --count_;
  }
}

}  // namespace svkit::supervise
