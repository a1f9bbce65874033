// File-system helpers the programs share. Every file svkit reads is opened
// without blocking, must be a regular file, and is read up to a cap: a FIFO,
// a device, a folder or a huge file is one error line, never a hang.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

namespace svkit {

// Caps for what svkit reads: a one-value config file, and a record (a JSON
// state, status or marker file).
constexpr size_t kConfigFileCap = 4096;
constexpr size_t kRecordFileCap = 64 * 1024;

// The whole file, when it is a regular file of at most `cap` bytes. A missing
// file is an Error with errnum ENOENT.
Result<std::string> read_small_file(const std::string& path, size_t cap);
// The same, relative to a folder's fd, in three system calls (open, read,
// close) for a file under 4 KiB: no fstat. A FIFO or a device gives an
// error or at most `cap` bytes, never a wait (O_NONBLOCK).
Result<std::string> read_small_file_at(int dirfd, const std::string& path, size_t cap);

enum class Durability { runtime, durable };

// Replaces `path` atomically: a temp file in the same folder, renamed over it.
// Durable: fsync of the file before and of the folder after the rename
// (persistent state); runtime files on tmpfs skip both.
Failure write_file_atomic(const std::string& path, std::string_view data, Durability durability,
                          unsigned mode = 0644);

// The names in a folder (not . and ..), read with a small buffer on the
// stack: opendir's 32 KiB buffer would stay in every supervise's heap.
Result<std::vector<std::string>> folder_names(const std::string& dir);
// Its names that are safe file names (is_safe_name), sorted; none when it
// cannot be read (dependencies.d, s6-rc's contents.d and source folders).
std::vector<std::string> safe_folder_names(const std::string& dir);

bool path_exists(const std::string& path);  // the entry itself (a dangling link exists)
bool is_directory(const std::string& path);
bool is_executable_file(const std::string& path);

// mkdir -p. `mode` is for the folders it creates (umask applies).
Failure make_dirs(const std::string& path, unsigned mode = 0755);

// Copies the folder `from` to `to` (which must not exist): folders and files
// with their modes, links as links.
Failure copy_tree(const std::string& from, const std::string& to);

// A name that is safe as one path component and in every file format: valid
// UTF-8, not empty, no '/', not '.' or '..', no leading dot, no control
// characters, at most 255 bytes.
bool is_safe_name(std::string_view name);
bool is_valid_utf8(std::string_view text);

}  // namespace svkit
