#include "essential.hpp"

#include <filesystem>

#include "../lib/files.hpp"
#include "../lib/log.hpp"

namespace svkit::init {

std::vector<EssentialService> find_essential_services(const std::string& scandir, bool oneshots) {
  std::vector<EssentialService> found;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(scandir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string dir = it->path().string();
    if (!is_safe_name(it->path().filename().string()) || !is_directory(dir)) continue;
    if (oneshots && !path_exists(dir + "/essential")) {
      if (is_oneshot(dir)) found.push_back({dir, false, true});
      continue;
    }
    if (!path_exists(dir + "/essential")) continue;
    auto text = read_small_file(dir + "/essential", kConfigFileCap);
    if (!text) {
      spdlog::error("{}; the service is not watched as essential", text.error().line);
      continue;
    }
    const auto first = text->find_first_not_of(" \t\r\n");
    const auto last = text->find_last_not_of(" \t\r\n");
    const bool now = first != std::string::npos && text->substr(first, last - first + 1) == "now";
    found.push_back({dir, now});
  }
  return found;
}

std::optional<int> essential_death(const Status& status, bool now) {
  const auto& exit = status.last_exit;
  // Not restarted: halted, failed, or down while still wanted up (or put down
  // by its restart policy). Down and not wanted is an operator's stop.
  const bool for_good = status.state == RunState::halted || status.state == RunState::failed ||
                        (status.state == RunState::down && exit &&
                         (status.want == Want::up || status.want_by == WantBy::policy));
  if (!(now ? exit.has_value() : for_good)) return std::nullopt;
  if (!exit) return 1;
  return exit->signal > 0 ? 128 + exit->signal : exit->code;
}

EssentialWatch::EssentialWatch(uv_loop_t* loop, EssentialService service, OnDeath on_death)
    : service_(std::move(service)),
      on_death_(std::move(on_death)),
      watch_(loop, service_.dir, [this] { check(); }) {
  if (!watch_.ok()) spdlog::warn("cannot watch essential service {}", service_.dir);
  check();
}

void EssentialWatch::stop() {
  stopped_ = true;
  watch_.stop();
}

// Watch first (the constructor), then read: a change in between still wakes us.
void EssentialWatch::check() {
  if (stopped_) return;
  auto status = read_status(service_.dir);
  if (!status) return;
  if (auto code = essential_death(*status, service_.now)) {
    stop();
    on_death_(service_.dir, *code);
  }
}

}  // namespace svkit::init
