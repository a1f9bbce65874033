// s6-overlay v3's service tree (s6-rc's source format, /etc/s6-overlay/s6-rc.d)
// turned into scandir slots at stage 1, so that such an image starts as it
// would under s6-overlay:
//   longrun   a service folder (run, finish, notification-fd, ...)
//   oneshot   a slot of type oneshot (up, down): supervise runs it once
//   bundle    no slot: a dependency on it is one on each of its contents
//   producer-for / consumer-for   the consumer becomes the producer's log/
// The user and user2 bundles (and what they need) start; other services are
// copied wanted down (longruns) or left out (oneshots). s6-overlay's built-in
// names: base and legacy-cont-init are met before svscan starts (stage 1 and
// the cont-init hooks are done), legacy-services means every services.d
// service, and user2's contents start after user's.
#pragma once

#include <string>
#include <vector>

namespace svkit::init {

struct S6rcImport {
  int longruns = 0, oneshots = 0, bundles = 0;
  std::vector<std::string> started;  // the user and user2 bundles, expanded
};

// Reads each source folder (missing ones are skipped quietly) and writes the
// slots into `scandir`, next to `legacy_services` (the services.d ones). A
// bad definition is one error line; the others are imported.
S6rcImport import_s6rc(const std::vector<std::string>& sources, const std::string& scandir,
                       const std::vector<std::string>& legacy_services);

}  // namespace svkit::init
