// A profile's slot in the scandir: SCANDIR/NAME made from
// STATE/profiles/NAME/service, built in a dot-named sibling and renamed into
// place so svscan never sees a half-made slot.
#pragma once

#include <string>

#include "../lib/error.hpp"

namespace svkit::state {

// Creates the slot (with a `down` file unless want_up) when it does not
// exist; an existing slot is left as it is.
Failure build_slot(const std::string& scandir, const std::string& service_source,
                   const std::string& name, bool want_up);

// Asks a running svscan to rescan (no-op when none listens).
void request_rescan(const std::string& rundir);

}  // namespace svkit::state
