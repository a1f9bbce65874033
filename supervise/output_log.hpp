// The service log: the service's output, one timestamped line each, in
// LOG_DIR/NAME/current, rotated by size to current.1 ... current.KEEP.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "../lib/error.hpp"
#include "../lib/fd.hpp"

namespace svkit::supervise {

class OutputLog {
 public:
  OutputLog(std::string folder, uint64_t max_bytes, uint64_t keep);

  // Feeds raw output; complete lines are stamped and written. Returns an
  // error the first time writing fails (then stays quiet until it works again).
  Failure append(std::string_view chunk);
  // Writes out a partial last line (the service died mid-line).
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
  std::string partial_;
  bool failing_ = false;
};

}  // namespace svkit::supervise
