// svctl logs: the service logs (LOG_DIR/NAME/current and its rotated files)
// read back, merged by time, and followed with inotify across rotations.
#include "logs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "commands.hpp"

namespace svkit::svctl {

namespace {

constexpr size_t kLogFileCap = size_t(1) << 30;
constexpr size_t kStampSize = 24;  // "2026-11-26T21:00:00.123Z"

struct Line {
  size_t service;
  std::string text;
  std::string_view stamp() const { return std::string_view(text).substr(0, kStampSize); }
};

void error_line(const std::string& line) {
  std::fprintf(stderr, "svctl: %s\n", line.c_str());
}

bool print(const std::string& text) {
  return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
         std::fflush(stdout) == 0;
}

// current.N ... current.1, current: oldest first.
std::vector<std::string> log_files(const std::string& folder) {
  std::vector<std::pair<int, std::string>> numbered;
  if (auto names = folder_names(folder)) {
    for (const auto& name : *names) {
      if (name == "current") {
        numbered.emplace_back(0, name);
      } else if (name.starts_with("current.")) {
        int n = 0;
        auto [end, ec] = std::from_chars(name.data() + 8, name.data() + name.size(), n);
        if (ec == std::errc() && end == name.data() + name.size() && n > 0) {
          numbered.emplace_back(n, name);
        }
      }
    }
  }
  std::sort(numbered.begin(), numbered.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> files;
  for (auto& [n, name] : numbered) files.push_back(folder + "/" + name);
  return files;
}

// The last `count` lines of the service's log files; `current` is read
// through `current_fd` up to `current_end` (what a follow starts after).
std::vector<std::string> last_lines(const std::string& folder, size_t count, int current_fd,
                                    off_t current_end) {
  std::vector<std::string> lines;
  const auto files = log_files(folder);
  for (auto file = files.rbegin(); file != files.rend() && lines.size() < count; ++file) {
    std::string text;
    if (file->ends_with("/current")) {
      if (current_fd < 0) continue;
      text.resize(size_t(current_end));
      const ssize_t n = ::pread(current_fd, text.data(), text.size(), 0);
      text.resize(n > 0 ? size_t(n) : 0);
    } else if (auto read = read_small_file(*file, kLogFileCap)) {
      text = std::move(*read);
    } else {
      continue;
    }
    std::vector<std::string> here;
    std::string_view rest(text);
    while (!rest.empty()) {
      const auto end = std::min(rest.find('\n'), rest.size());
      here.emplace_back(rest.substr(0, end));
      rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    const size_t take = std::min(count - lines.size(), here.size());
    lines.insert(lines.begin(), here.end() - take, here.end());
  }
  return lines;
}

std::string prefix(const std::vector<std::string>& names, size_t service) {
  return names.size() > 1 ? names[service] + " | " : std::string();
}

// One followed service log: the open `current`, where we are in it, and the
// partial line read so far.
struct Followed {
  std::string folder;
  UniqueFd fd;
  std::string partial;
  size_t service;  // in the names
};

bool drain(Followed& f, const std::string& head) {
  if (!f.fd) return true;
  char buf[65536];
  ssize_t n;
  std::string out;
  while ((n = ::read(f.fd.get(), buf, sizeof buf)) > 0) {
    f.partial.append(buf, size_t(n));
    size_t at;
    while ((at = f.partial.find('\n')) != std::string::npos) {
      out += head + f.partial.substr(0, at + 1);
      f.partial.erase(0, at + 1);
    }
  }
  return out.empty() || print(out);
}

int follow(const std::vector<std::string>& names, std::vector<Followed>& followed) {
  if (followed.empty()) return exit_code::kNotSupervised;
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC));
  if (!inotify) {
    error_line(errno_error("cannot follow the logs: inotify").line);
    return exit_code::kSystem;
  }
  std::map<int, size_t> watches;
  for (size_t i = 0; i < followed.size(); ++i) {
    const int wd = ::inotify_add_watch(inotify.get(), followed[i].folder.c_str(),
                                       IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM);
    if (wd < 0) {
      error_line(errno_error("cannot follow " + followed[i].folder).line);
      return exit_code::kSystem;
    }
    watches[wd] = i;
    // Written, or rotated, between the first read and the watch: catch up now.
    Followed& f = followed[i];
    if (!drain(f, prefix(names, f.service))) return exit_code::kOk;
    struct stat now_current, ours;
    if (::stat((f.folder + "/current").c_str(), &now_current) == 0 &&
        (!f.fd || (::fstat(f.fd.get(), &ours) == 0 && ours.st_ino != now_current.st_ino))) {
      f.fd.reset(::open((f.folder + "/current").c_str(), O_RDONLY | O_CLOEXEC));
      if (!drain(f, prefix(names, f.service))) return exit_code::kOk;
    }
  }
  alignas(inotify_event) char events[8192];
  for (;;) {
    const ssize_t n = ::read(inotify.get(), events, sizeof events);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return exit_code::kSystem;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(events + at);
      at += ssize_t(sizeof(inotify_event) + e->len);
      auto it = watches.find(e->wd);
      if (it == watches.end() || e->len == 0 || std::string_view(e->name) != "current") continue;
      Followed& f = followed[it->second];
      const std::string head = prefix(names, f.service);
      if (!drain(f, head)) return exit_code::kOk;  // stdout is gone: done
      if (e->mask & IN_MOVED_FROM) {
        f.fd.reset();  // rotated away, read to its end
      } else if (e->mask & (IN_CREATE | IN_MOVED_TO) || !f.fd) {
        f.fd.reset(::open((f.folder + "/current").c_str(), O_RDONLY | O_CLOEXEC));
        if (!drain(f, head)) return exit_code::kOk;
      }
    }
  }
}

int show_evidence(const Context& ctx, const std::vector<std::string>& names) {
  int code = exit_code::kOk;
  for (const auto& name : names) {
    const std::string folder = ctx.log_dir + "/" + name + "/evidence";
    auto files = folder_names(folder);
    if (!files || files->empty()) {
      error_line(name + ": no evidence in " + folder);
      code = worse(code, exit_code::kNotSupervised);
      continue;
    }
    std::sort(files->begin(), files->end());
    std::string out;
    for (const auto& file : *files) {
      auto text = read_small_file(folder + "/" + file, kLogFileCap);
      if (!text) continue;
      const auto reason = text->find("\nreason: ");
      out += folder + "/" + file;
      if (reason != std::string::npos) {
        out += "  " + text->substr(reason + 1, text->find('\n', reason + 1) - reason - 1);
      }
      out += "\n";
    }
    if (auto newest = read_small_file(folder + "/" + files->back(), kLogFileCap)) {
      out += "--- " + files->back() + "\n" + *newest;
    }
    if (!print(out)) return code;
  }
  return code;
}

}  // namespace

int logs(const Context& ctx, const LogsOptions& options) {
  if (options.evidence) return show_evidence(ctx, options.names);
  std::vector<Line> merged;
  std::vector<Followed> followed;
  int code = exit_code::kOk;
  for (size_t i = 0; i < options.names.size(); ++i) {
    const std::string folder = ctx.log_dir + "/" + options.names[i];
    if (!is_directory(folder)) {
      error_line(options.names[i] + ": no log in " + folder);
      code = worse(code, exit_code::kNotSupervised);
      continue;
    }
    // Open before reading, so that a follow misses nothing written meanwhile.
    UniqueFd current(::open((folder + "/current").c_str(), O_RDONLY | O_CLOEXEC));
    // What `current` holds now is read through this fd: a follow goes on from there.
    const off_t end = current ? ::lseek(current.get(), 0, SEEK_END) : 0;
    for (auto& text : last_lines(folder, options.lines, current.get(), end)) {
      merged.push_back({i, std::move(text)});
    }
    followed.push_back({folder, std::move(current), {}, i});
  }
  std::stable_sort(merged.begin(), merged.end(),
                   [](const Line& a, const Line& b) { return a.stamp() < b.stamp(); });
  const size_t skip = merged.size() > options.lines ? merged.size() - options.lines : 0;
  std::string out;
  for (size_t i = skip; i < merged.size(); ++i) {
    out += prefix(options.names, merged[i].service) + merged[i].text + "\n";
  }
  if (!print(out)) return code;
  if (!options.follow) return code;
  return follow(options.names, followed);
}

}  // namespace svkit::svctl
