// What a start waits for (dependencies.d): the first dependency that is not
// up and ready, and why. The wake-ups come from svscan (control letter
// kDependencyChanged), which watches the dependencies' status for everyone.
#pragma once

#include <string>
#include <vector>

namespace svkit::supervise {

// "" when every one of `names` is up and ready; else the first that is
// not, and why: "db (not ready)", "db (backoff)", "db (no such service)".
std::string dependencies_waited_for(const std::string& scandir,
                                    const std::vector<std::string>& names);

}  // namespace svkit::supervise
