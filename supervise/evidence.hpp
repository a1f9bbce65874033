// Evidence before every restart no operator asked for: the last output of the
// service (kept in memory, so it survives log rotation), why it died, and the
// last health check's output, taken before the next instance starts and
// written to LOG_DIR/NAME/evidence/ right after it is spawned (renamed into
// place), then fdatasynced: the file system's and the disk's latency are not
// added to every restart.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "../lib/error.hpp"
#include "../lib/fd.hpp"
#include "../lib/status.hpp"

namespace svkit::supervise {

// The last `capacity` bytes fed to it. Allocates on first use, so a silent
// service costs nothing.
class OutputRing {
 public:
  explicit OutputRing(size_t capacity) : capacity_(capacity) {}
  void append(std::string_view data);
  std::string contents() const;

 private:
  size_t capacity_;
  std::string buffer_;
  size_t head_ = 0;  // where the oldest byte is, once full
};

struct EvidenceReport {
  std::string service{};
  std::string reason_slug{};  // for the file name: "exit-1", "signal-SIGKILL", "unhealthy"
  std::string reason{};       // for people
  std::string next{};         // what supervise does next: "restart in 400 ms"
  pid_t pid = 0;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  uint32_t restarts = 0;
  std::optional<ExitInfo> exit{};
  std::string health_output{};
  std::string output{};
};

struct WrittenEvidence {
  std::string path;
  UniqueFd unsynced;  // fdatasync it, then drop it
};

// LOG_DIR/NAME/evidence of one service. The folder is made and listed at the
// first write, then its files are kept track of here: a restart's evidence
// costs one new file (and the removal of the oldest), not a folder listing.
class EvidenceFolder {
 public:
  explicit EvidenceFolder(std::string path) : path_(std::move(path)) {}
  // Writes the report (renamed into place), keeping only the newest `keep`
  // files. The caller syncs it.
  Result<WrittenEvidence> write(const EvidenceReport& report, uint64_t keep);

 private:
  Result<WrittenEvidence> write_file(const std::string& name, const std::string& text);
  std::optional<Error> list();
  void keep_newest(uint64_t keep);

  std::string path_;
  bool listed_ = false;
  std::string names_{};  // its evidence files, oldest first, one per line
  uint64_t count_ = 0;
};

}  // namespace svkit::supervise
