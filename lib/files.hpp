// Small file-system helpers shared by the programs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace svkit {

std::optional<std::string> read_file(const std::string& path);
// The same for a regular file (not a FIFO, not /proc), in one read when it fits.
std::optional<std::string> read_regular_file(const std::string& path);

// Replaces `path` atomically: write a temp file in the same folder, rename it
// over. With `durable`, fsync the file before and the folder after the rename
// (persistent state); runtime files on tmpfs skip that.
// Returns an empty string on success, else a one-line error.
std::string write_file_atomic(const std::string& path, std::string_view data, bool durable);

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
bool is_executable_file(const std::string& path);

// mkdir -p with `mode` for the created folders; true when the folder exists after.
bool make_dirs(const std::string& path, unsigned mode = 0755);

// Copies the folder `from` to `to`, which must not exist: folders and regular
// files with their modes, symlinks as links (never followed); other kinds are
// skipped. Returns an error line or empty.
std::string copy_tree(const std::string& from, const std::string& to);

std::string dirname_of(const std::string& path);
std::string basename_of(const std::string& path);

// A name that is safe as one path component: not empty, no '/', not '.' or
// '..', no leading dot, no control characters, at most 255 bytes.
bool is_safe_name(std::string_view name);

}  // namespace svkit
