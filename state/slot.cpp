#include "slot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/paths.hpp"

namespace svkit::state {

namespace fs = std::filesystem;

std::string build_slot(const std::string& scandir, const std::string& service_source,
                       const std::string& name, bool want_up) {
  const std::string slot = scandir + "/" + name;
  if (path_exists(slot)) return {};
  if (!is_directory(scandir)) return "scandir " + scandir + " does not exist";
  const std::string staging = scandir + "/." + name + ".new";
  std::error_code ec;
  fs::remove_all(staging, ec);
  // Symlinks are copied as links, never followed out of the profile.
  std::error_code copy_error;
  fs::copy(service_source, staging, fs::copy_options::recursive | fs::copy_options::copy_symlinks,
           copy_error);
  if (copy_error) {
    fs::remove_all(staging, ec);
    return "cannot copy " + service_source + " to the scandir: " + copy_error.message();
  }
  const std::string down = staging + "/down";
  if (want_up) {
    ::unlink(down.c_str());
  } else if (auto err = write_file_atomic(down, "", false); !err.empty()) {
    fs::remove_all(staging, ec);
    return err;
  }
  if (::rename(staging.c_str(), slot.c_str()) != 0) {
    std::string err = "cannot rename " + staging + " to " + slot + ": " + std::strerror(errno);
    fs::remove_all(staging, ec);
    return err;
  }
  return {};
}

void request_rescan(const std::string& rundir) {
  UniqueFd fd(::open(svscan_control_path(rundir).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd) (void)!::write(fd.get(), "a", 1);
}

}  // namespace svkit::state
