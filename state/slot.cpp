#include "slot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "../lib/fd.hpp"
#include "../lib/files.hpp"
#include "../lib/paths.hpp"

namespace svkit::state {

namespace fs = std::filesystem;

namespace {

Failure stage_slot(const std::string& source, const std::string& staging, bool want_up) {
  if (auto failure = copy_tree(source, staging)) return failure;
  // The staging folder is private until the rename: no temp file needed here.
  const std::string down = staging + "/down";
  if (want_up) {
    ::unlink(down.c_str());
  } else if (UniqueFd file(::open(down.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)); !file) {
    return errno_error("cannot create " + down);
  }
  return std::nullopt;
}

}  // namespace

Failure build_slot(const std::string& scandir, const std::string& service_source,
                   const std::string& name, bool want_up) {
  const std::string slot = scandir + "/" + name;
  if (path_exists(slot)) return std::nullopt;
  if (!is_directory(scandir)) return Error{"scandir " + scandir + " does not exist"};
  const std::string staging = scandir + "/." + name + ".new";
  std::error_code ignored;
  fs::remove_all(staging, ignored);
  Failure failure = stage_slot(service_source, staging, want_up);
  if (!failure && ::rename(staging.c_str(), slot.c_str()) != 0) {
    failure = errno_error("cannot rename " + staging + " to " + slot);
  }
  if (failure) fs::remove_all(staging, ignored);
  return failure;
}

void request_rescan(const std::string& rundir) {
  UniqueFd fd(::open(svscan_control_path(rundir).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd) (void)!::write(fd.get(), "a", 1);
}

}  // namespace svkit::state
