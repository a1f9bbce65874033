// Essential services (a file `essential` in the service directory): svinit
// watches each one's status file and stops the container when it dies for
// good — or at its first exit when the file says `now`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../lib/status.hpp"
#include "../lib/status_watch.hpp"
#include "../lib/uv.hpp"

namespace svkit::init {

struct EssentialService {
  std::string dir;
  bool now = false;      // the file says `now`: any exit counts
  bool oneshot = false;  // a oneshot watched as stage 2 (SVKIT_BEHAVIOUR_IF_STAGE2_FAILS=2)
};

// With `oneshots`, every oneshot too: its failure stops the boot like a cont-init hook's.
std::vector<EssentialService> find_essential_services(const std::string& scandir, bool oneshots);

// The exit code svinit should end with when `status` shows an essential
// service's death, else nullopt. The scandir is fresh at every boot, so any
// recorded exit is this boot's.
std::optional<int> essential_death(const Status& status, bool now);

class EssentialWatch {
 public:
  using OnDeath = std::function<void(const std::string& dir, int exit_code)>;

  // Watches its status (lib/status_watch.hpp). Nothing polls.
  EssentialWatch(uv_loop_t* loop, EssentialService service, OnDeath on_death);
  EssentialWatch(const EssentialWatch&) = delete;
  EssentialWatch& operator=(const EssentialWatch&) = delete;

  void stop();

 private:
  void check();

  EssentialService service_;
  OnDeath on_death_;
  bool stopped_ = false;
  StatusWatch watch_;
};

}  // namespace svkit::init
