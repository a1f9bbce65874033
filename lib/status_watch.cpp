#include "status_watch.hpp"

#include <string_view>

#include "files.hpp"
#include "log.hpp"

namespace svkit {

StatusWatch::StatusWatch(uv_loop_t* loop, std::string service_dir, OnChange on_change)
    : loop_(loop), dir_(std::move(service_dir)), on_change_(std::move(on_change)) {
  arm();
}

void StatusWatch::arm() {
  const bool on_supervise = is_directory(dir_ + "/supervise");
  watch_ = uv::DirEntryWatch(
      loop_, on_supervise ? dir_ + "/supervise" : dir_,
      [this, on_supervise, on_change = on_change_](const char* file) {
        const std::string_view entry = file ? file : "";
        if (entry != (on_supervise ? "status.json" : "supervise")) return;
        if (!on_supervise) {
          arm();  // now on supervise/
          if (!ok()) spdlog::error("cannot watch {}/supervise (inotify: no watch left?)", dir_);
        }
        on_change();  // last: it may destroy this watch (the copy lives in the handle)
      });
}

}  // namespace svkit
