#include "files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "fd.hpp"

namespace svkit {

namespace fs = std::filesystem;

Error errno_error(const std::string& what, int errnum) {
#if defined(__GLIBC__)
  // The English text without strerror's message-catalogue lookup: an absent
  // optional file is an error value on hot paths (a supervise's every exit).
  if (const char* text = ::strerrordesc_np(errnum)) return Error{what + ": " + text, errnum};
#endif
  return Error{what + ": " + std::strerror(errnum), errnum};
}

Error errno_error(const std::string& what) {
  return errno_error(what, errno);
}

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<std::string> read_small_file_at(int dirfd, const std::string& path, size_t cap) {
  UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return errno_error(path);
  char first[4096];
  std::string out;
  for (;;) {
    const ssize_t n = ::read(fd.get(), first, sizeof first);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path);
    out.append(first, size_t(n));
    if (out.size() > cap) {
      return Error{path + ": larger than " + std::to_string(cap) + " bytes; not read", EFBIG};
    }
    // A short read of a regular file is its end (tmpfs and local disks give
    // what they have); a full buffer may have more.
    if (n < ssize_t(sizeof first)) return out;
  }
}

Result<std::string> read_small_file(const std::string& path, size_t cap) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return errno_error(path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_error(path);
  if (!S_ISREG(st.st_mode)) {
    return Error{path + ": is " + kind_of(st.st_mode) + ", not a regular file", EINVAL};
  }
  // /proc files say size 0: read until the end, whatever the size says.
  std::string out(std::min<size_t>(cap + 1, st.st_size > 0 ? size_t(st.st_size) + 1 : 4096), '\0');
  size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (out.size() > cap) break;
      out.resize(std::min(out.size() * 2, cap + 1));
    }
    ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path);
    if (n == 0) break;
    used += static_cast<size_t>(n);
    // A file that told its size and gave it all: no second read to hear the end.
    if (st.st_size > 0 && used >= size_t(st.st_size) && used < out.size()) break;
  }
  if (used > cap) {
    return Error{path + ": larger than " + std::to_string(cap) + " bytes; not read", EFBIG};
  }
  out.resize(used);
  return out;
}

Failure write_file_atomic(const std::string& path, std::string_view data, Durability durability,
                          unsigned mode) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return errno_error("cannot create " + tmp);
  const bool durable = durability == Durability::durable;
  if (!write_all(fd.get(), data) || (durable && ::fsync(fd.get()) != 0)) {
    Error error = errno_error("cannot write " + tmp);
    ::unlink(tmp.c_str());
    return error;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = errno_error("cannot rename onto " + path);
    ::unlink(tmp.c_str());
    return error;
  }
  if (durable) {
    const std::string folder = fs::path(path).parent_path().string();
    UniqueFd dir(::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fsync(dir.get()) != 0) return errno_error("cannot fsync the folder of " + path);
  }
  return std::nullopt;
}

Result<std::vector<std::string>> folder_names(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(dir);
  std::vector<std::string> names;
  alignas(8) char buf[2048];
  for (;;) {
    const ssize_t n = ::getdents64(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(dir);
    if (n == 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buf + at);
      const std::string_view name(entry->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
      at += entry->d_reclen;
    }
  }
  return names;
}

std::vector<std::string> safe_folder_names(const std::string& dir) {
  std::vector<std::string> names;
  if (auto listed = folder_names(dir)) {
    for (auto& name : *listed) {
      if (is_safe_name(name)) names.push_back(std::move(name));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

Failure make_dirs(const std::string& path, unsigned mode) {
  // Mostly the parent is there: one mkdir, then the mode (umask took bits).
  if (::mkdir(path.c_str(), mode) != 0) {
    const int error = errno;
    if (error == EEXIST && is_directory(path)) return std::nullopt;
    if (error != ENOENT) return errno_error("cannot create " + path, error);
    std::error_code ec;  // a parent is missing too
    fs::create_directories(path, ec);
    if (ec) return errno_error("cannot create " + path, ec.value());
  }
  if (::chmod(path.c_str(), mode) != 0) return errno_error("cannot chmod " + path);
  return std::nullopt;
}

Failure copy_tree(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return errno_error("cannot copy " + from + " to " + to, ec.value());
  return std::nullopt;
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > text.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past Unicode are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

bool is_safe_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  for (unsigned char c : name) {
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  }
  return is_valid_utf8(name);
}

}  // namespace svkit
