// The service log: the service's output, one timestamped line each, in
// LOG_DIR/NAME/current, rotated by size to current.1 ... current.KEEP.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "../lib/error.hpp"
#include "../lib/fd.hpp"

namespace svkit::supervise {

// run's two streams: each keeps its own partial line.
enum class Stream { out, err };

class OutputLog {
 public:
  OutputLog(std::string folder, uint64_t max_bytes, uint64_t keep);

  // Feeds raw output; complete lines are stamped and written. Returns an
  // error the first time writing fails (then stays quiet until it works again).
  Failure append(Stream stream, std::string_view chunk);
  // Writes out the partial last lines (the service died mid-line).
  Failure flush_partial();
  void set_limits(uint64_t max_bytes, uint64_t keep);
  const std::string& path() const { return path_; }

 private:
  Failure write_line(std::string_view line);
  bool open_current();
  void rotate();

  std::string folder_;
  std::string path_;
  uint64_t max_bytes_;
  uint64_t keep_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::string partial_[2];
  bool failing_ = false;
};

}  // namespace svkit::supervise
