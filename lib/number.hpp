// Whole numbers from text: option values, environment variables, config
// files and /proc fields.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>

namespace svkit {

// The number that is the whole of `text` (no blanks, nothing after it, no
// sign for an unsigned type); nullopt otherwise, for an empty text too, and
// when it does not fit in T.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace svkit
