// Wall-clock time as the files record it: milliseconds since the epoch, and
// RFC 3339 UTC text for people.
#pragma once

#include <cstdint>
#include <string>

namespace svkit {

int64_t now_ms();
// Monotonic milliseconds, for intervals that must not jump with the wall clock.
int64_t monotonic_ms();
// "2026-11-26T21:00:00Z", or with millis "2026-11-26T21:00:00.123Z".
std::string rfc3339(int64_t epoch_ms, bool with_millis = false);
// "37s", "3m", "2h", "4d": the largest unit that is at least 1.
std::string short_duration(int64_t ms);

}  // namespace svkit
