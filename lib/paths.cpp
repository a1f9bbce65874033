#include "paths.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "files.hpp"
#include "json.hpp"

#ifndef SVKIT_LIBEXECDIR
#define SVKIT_LIBEXECDIR "/usr/libexec/svkit"
#endif

namespace svkit {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : fallback;
}

std::string effective_paths_file(const std::string& rundir) {
  return rundir + "/paths.json";
}

Paths Paths::from_environment() {
  Paths paths{
      env_or("SVKIT_SCANDIR", "/run/service"),
      env_or("SVKIT_RUNDIR", "/run/svkit"),
      env_or("SVKIT_STATE_DIR", "/var/lib/svkit"),
      env_or("SVKIT_SERVICES_DIR", "/etc/svkit/services.d"),
      env_or("SVKIT_CONT_INIT_DIR", "/etc/svkit/cont-init.d"),
      env_or("SVKIT_LOG_DIR", "/var/log/svkit"),
  };
  if (auto text = read_small_file(effective_paths_file(paths.rundir), kConfigFileCap)) {
    auto json = nlohmann::json::parse(*text, nullptr, false);
    if (json.is_object()) {
      if (json.contains("log_dir") && json["log_dir"].is_string()) paths.log_dir = json["log_dir"];
      if (json.contains("state_dir") && json["state_dir"].is_string()) {
        paths.state_dir = json["state_dir"];
      }
    }
  }
  return paths;
}

static std::string own_directory() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().string();
}

std::string libexec_program(const std::string& program) {
  if (const char* dir = std::getenv("SVKIT_LIBEXEC"); dir && *dir) {
    return std::string(dir) + "/" + program;
  }
  const std::string own = own_directory();
  if (!own.empty() && is_executable_file(own + "/" + program)) return own + "/" + program;
  return std::string(SVKIT_LIBEXECDIR) + "/" + program;
}

std::string svscan_control_path(const std::string& rundir) {
  return rundir + "/svscan-control";
}

}  // namespace svkit
