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
  if (auto err = copy_tree(service_source, staging); !err.empty()) {
    fs::remove_all(staging, ec);
    return "cannot copy " + service_source + " to the scandir: " + err;
  }
  // The staging folder is private until the rename: no temp file needed here.
  const std::string down = staging + "/down";
  if (want_up) {
    ::unlink(down.c_str());
  } else if (UniqueFd file(::open(down.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)); !file) {
    std::string err = "cannot create " + down + ": " + std::strerror(errno);
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
