// A service's status, watched without polling: its folder until supervise/
// exists, then supervise/, where status.json is replaced on every change.
// Only status.json (and supervise/ appearing) counts, not the other entries
// (a control letter written into the FIFO there must not wake the writer).
// Used by svinit (essential services, CMD's wait) and svscan (dependencies).
#pragma once

#include <functional>
#include <string>

#include "uv.hpp"

namespace svkit {

class StatusWatch {
 public:
  using OnChange = std::function<void()>;

  // on_change may destroy this watch: it runs from a copy the handle owns.
  StatusWatch(uv_loop_t* loop, std::string service_dir, OnChange on_change);
  StatusWatch(const StatusWatch&) = delete;
  StatusWatch& operator=(const StatusWatch&) = delete;

  // False when inotify gave no watch (no instance or watch left).
  bool ok() const { return watch_.ok(); }
  void stop() { watch_.close(); }

 private:
  void arm();

  uv_loop_t* loop_;
  std::string dir_;
  OnChange on_change_;
  uv::DirEntryWatch watch_;
};

}  // namespace svkit
