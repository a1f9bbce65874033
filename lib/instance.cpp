#include "instance.hpp"

#include <sys/random.h>

#include "files.hpp"

namespace svkit {

std::string instance_file(const std::string& rundir) {
  return rundir + "/instance";
}

std::string read_instance_id(const std::string& rundir) {
  auto text = read_small_file(instance_file(rundir), kConfigFileCap);
  if (!text) return {};
  return text->substr(0, text->find_first_of(" \t\r\n"));
}

Result<std::string> write_fresh_instance_id(const std::string& rundir) {
  unsigned char bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    return errno_error("cannot make an instance id: getrandom");
  }
  std::string id;
  for (unsigned char b : bytes) {
    constexpr char kHex[] = "0123456789abcdef";
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  if (auto failure = make_dirs(rundir)) return *failure;
  if (auto failure = write_file_atomic(instance_file(rundir), id + "\n", Durability::runtime)) {
    return *failure;
  }
  return id;
}

Result<std::string> ensure_instance_id(const std::string& rundir) {
  if (auto id = read_instance_id(rundir); !id.empty()) return id;
  return write_fresh_instance_id(rundir);
}

}  // namespace svkit
