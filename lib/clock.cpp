#include "clock.hpp"

#include <time.h>

#include <chrono>
#include <cstdio>

namespace svkit {

static int64_t read_clock(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_ms() {
  return read_clock(CLOCK_REALTIME);
}
int64_t monotonic_ms() {
  return read_clock(CLOCK_MONOTONIC);
}

// UTC by the calendar of <chrono>, not gmtime_r: glibc's first gmtime_r
// reads /etc/localtime, in every supervise, for a time zone UTC does not need.
std::string rfc3339(int64_t epoch_ms, bool with_millis) {
  using namespace std::chrono;
  const sys_time<milliseconds> at{milliseconds{epoch_ms}};
  const sys_days day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss time{floor<milliseconds>(at - day)};
  char buf[80];
  const int y = int(date.year()), mo = int(unsigned(date.month())), d = int(unsigned(date.day()));
  const int h = int(time.hours().count()), mi = int(time.minutes().count()),
            s = int(time.seconds().count());
  if (with_millis) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s,
                  int(time.subseconds().count()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
  }
  return buf;
}

std::string short_duration(int64_t ms) {
  if (ms < 0) ms = 0;
  const int64_t s = ms / 1000;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

}  // namespace svkit
