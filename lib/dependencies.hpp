// dependencies.d/ (s6-rc's format): one empty file per service that must be
// up and ready before this one starts, named after it. supervise waits on
// them before each start; svscan stops a service only after its dependents
// at shutdown.
#pragma once

#include <string>
#include <vector>

namespace svkit {

// The names in SERVICE_DIR/dependencies.d (none when there is no such folder),
// sorted; names that are not safe file names are left out.
std::vector<std::string> read_dependencies(const std::string& service_dir);

// Why `name`'s dependencies can never be met, or empty: a dependency that is
// not a service of the scandir ("db is not a service"), or a cycle
// ("cycle: web -> api -> web").
std::string dependency_problem(const std::string& scandir, const std::string& name);

}  // namespace svkit
