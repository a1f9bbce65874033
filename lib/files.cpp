#include "files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fd.hpp"

namespace svkit {

Pipe make_pipe(bool nonblocking_read) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
  if (nonblocking_read) ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return p;
}

std::optional<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::optional<std::string> read_regular_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out(16384, '\0');
  size_t used = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    used += static_cast<size_t>(n);
    // A short read of a regular file is its end: no second read to hear EOF.
    if (used < out.size()) break;
    out.resize(out.size() * 2);
  }
  out.resize(used);
  return out;
}

static bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

static std::string errno_line(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string write_file_atomic(const std::string& path, std::string_view data, bool durable) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_line("cannot create", tmp);
  if (!write_all(fd.get(), data)) {
    std::string err = errno_line("cannot write", tmp);
    ::unlink(tmp.c_str());
    return err;
  }
  if (durable && ::fsync(fd.get()) != 0) {
    std::string err = errno_line("cannot fsync", tmp);
    ::unlink(tmp.c_str());
    return err;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = errno_line("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return err;
  }
  if (durable) {
    UniqueFd dir(::open(dirname_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fsync(dir.get()) != 0) return errno_line("cannot fsync folder of", path);
  }
  return {};
}

static std::string copy_file(const std::string& from, const std::string& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!in || ::fstat(in.get(), &st) != 0) return errno_line("cannot read", from);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777));
  if (!out) return errno_line("cannot create", to);
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, size_t(left), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
      char buf[8192];  // no in-kernel copy here: plain read and write
      n = ::read(in.get(), buf, sizeof buf);
      if (n > 0 && !write_all(out.get(), std::string_view(buf, size_t(n)))) n = -1;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_line("cannot copy to", to);
    if (n == 0) break;  // the file shrank meanwhile
    left -= n;
  }
  return {};
}

std::string copy_tree(const std::string& from, const std::string& to) {
  struct stat st;
  if (::stat(from.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return errno_line("not a folder:", from);
  }
  if (::mkdir(to.c_str(), st.st_mode & 07777) != 0) return errno_line("cannot create", to);
  DIR* dir = ::opendir(from.c_str());
  if (!dir) return errno_line("cannot read", from);
  std::string error;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string src = from + "/" + name;
    const std::string dst = to + "/" + name;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat entry;
      if (::lstat(src.c_str(), &entry) != 0) continue;
      type = S_ISDIR(entry.st_mode)   ? DT_DIR
             : S_ISLNK(entry.st_mode) ? DT_LNK
             : S_ISREG(entry.st_mode) ? DT_REG
                                      : DT_UNKNOWN;
    }
    if (type == DT_DIR) {
      error = copy_tree(src, dst);
    } else if (type == DT_REG) {
      error = copy_file(src, dst);
    } else if (type == DT_LNK) {
      char target[4096];
      ssize_t n = ::readlink(src.c_str(), target, sizeof target - 1);
      if (n < 0 || ::symlink(std::string(target, size_t(n)).c_str(), dst.c_str()) != 0) {
        error = errno_line("cannot copy the link", src);
      }
    }
    if (!error.empty()) break;
  }
  ::closedir(dir);
  return error;
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

bool make_dirs(const std::string& path, unsigned mode) {
  if (path.empty()) return false;
  if (is_directory(path)) return true;
  const std::string parent = dirname_of(path);
  if (parent != path && !make_dirs(parent, mode)) return false;
  return ::mkdir(path.c_str(), mode) == 0 || errno == EEXIST;
}

std::string dirname_of(const std::string& path) {
  auto end = path.find_last_not_of('/');
  if (end == std::string::npos) return "/";
  auto slash = path.rfind('/', end);
  if (slash == std::string::npos) return ".";
  auto keep = path.find_last_not_of('/', slash);
  return keep == std::string::npos ? "/" : path.substr(0, keep + 1);
}

std::string basename_of(const std::string& path) {
  auto end = path.find_last_not_of('/');
  if (end == std::string::npos) return "/";
  auto slash = path.rfind('/', end);
  return path.substr(slash == std::string::npos ? 0 : slash + 1,
                     end - (slash == std::string::npos ? 0 : slash + 1) + 1);
}

bool is_safe_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  for (unsigned char c : name) {
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace svkit
