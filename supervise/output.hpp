// Where run's output goes: every line, stamped, to LOG_DIR/NAME/current
// (rotated by size), and — under svinit — a copy on the container's console,
// prefixed with the service's name (`web | GET / 200`) or as JSON lines.
//
// Lines are handled in batches: one stamp per read, one write to the file per
// read, and console writes of whole lines of at most PIPE_BUF bytes, so that
// lines of different services never interleave. A longer line goes out in
// marked pieces (`web |+ ...`, or "partial": true).
//
// A console that cannot keep up loses copies, never file lines: they are
// counted, and once it takes writes again one line says how many were not
// shown and where they are. When the file log cannot be written the console is
// the only record: then nothing is dropped — what is unwritten waits, and the
// caller stops reading the service until it is out (the service then waits).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "../lib/error.hpp"
#include "../lib/fd.hpp"

namespace svkit::supervise {

// run's two streams, each with its own partial line; and the health check's
// output (console only: the service log is the service's).
enum class Stream { out, err, health };

struct Console {
  enum class Format { plain, json };
  int fd = -1;  // -1: no console copy
  Format format = Format::plain;
};

// Big buffers for a burst, given back to the system when the burst is over,
// so an idle supervise stays small.
class BurstBuffer {
 public:
  explicit BurstBuffer(size_t size) : size_(size) {}
  ~BurstBuffer();
  BurstBuffer(const BurstBuffer&) = delete;
  BurstBuffer& operator=(const BurstBuffer&) = delete;
  char* data();
  // The buffer, not yet counted as written (a read that finds nothing, as
  // at every death, then costs no madvise).
  char* mapped();
  size_t size() const { return size_; }
  void release();

 private:
  size_t size_;
  char* data_ = nullptr;
  bool touched_ = false;
};

class ServiceOutput {
 public:
  ServiceOutput(std::string folder, std::string name, uint64_t max_bytes, uint64_t keep,
                Console console);
  void set_limits(uint64_t max_bytes, uint64_t keep);

  // A buffer to read into, and what was read into it: complete lines are
  // stamped with `now_ms` and written. Returns an error the first time the
  // file cannot be written (then quiet until it works again).
  std::pair<char*, size_t> read_buffer();
  Failure feed(Stream stream, size_t bytes, int64_t now_ms);
  // Writes out the partial last lines (the service died mid-line).
  Failure flush_partial(int64_t now_ms);
  // A health check's output: on the console only.
  void health_output(std::string_view text);
  // After a burst: big buffers go back to the system.
  void idle();

  // Console copies wait that must not be dropped: stop reading the service.
  bool console_must_wait() const { return !console_pending_.empty(); }
  // Console copies were dropped (or wait): call console_writable() when it is.
  bool console_stalled() const { return console_dropping_ || !console_pending_.empty(); }
  void console_writable();
  int console_fd() const { return console_.fd; }
  uint64_t console_dropped() const { return console_dropped_total_; }
  const std::string& path() const { return path_; }

 private:
  void add_line(Stream stream, std::string_view line, const char* stamp, bool partial);
  void add_console_line(Stream stream, std::string_view line, const char* stamp, bool partial);
  void flush_file();
  void flush_console_batch();
  void console_gone();
  bool open_current();
  void rotate();

  std::string folder_, path_, name_, health_name_;
  uint64_t max_bytes_, keep_;
  Console console_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  bool file_failing_ = false;
  Failure file_error_;
  std::string partial_[2];

  BurstBuffer input_{64 * 1024}, file_out_{128 * 1024};
  size_t file_used_ = 0;
  BurstBuffer console_batch_{4096};
  size_t console_used_ = 0;
  size_t console_batch_lines_ = 0;
  std::string console_pending_;  // must not be dropped (no file log)
  bool console_dropping_ = false;
  uint64_t console_dropped_ = 0;        // since the console last took a write
  uint64_t console_dropped_total_ = 0;  // shown in status
};

}  // namespace svkit::supervise
