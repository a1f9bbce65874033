// CMD waits for the services (SVKIT_CMD_WAIT_FOR_SERVICES_MAXTIME): every
// service wanted up at boot must be up and ready. Each one not yet ready is
// watched (lib/status_watch.hpp) and read again only when its status
// changes; nothing polls.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "../lib/status_watch.hpp"
#include "../lib/uv.hpp"

namespace svkit::init {

class ReadinessWait {
 public:
  using OnReady = std::function<void()>;

  ReadinessWait(uv_loop_t* loop, std::string scandir, OnReady on_ready);
  ReadinessWait(const ReadinessWait&) = delete;
  ReadinessWait& operator=(const ReadinessWait&) = delete;

  // Calls on_ready at once (from the loop) when nothing needs waiting for.
  void start();
  size_t waiting() const { return pending_.size(); }
  // "db (backoff), web (up, not ready)": who is not ready, and why.
  std::string not_ready() const;

 private:
  void check(const std::string& name);

  uv_loop_t* loop_;
  std::string scandir_;
  OnReady on_ready_;
  std::map<std::string, StatusWatch> pending_;
  uv::Timer done_;  // on_ready runs from the loop, never inside start()
};

}  // namespace svkit::init
