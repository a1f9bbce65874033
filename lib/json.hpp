// What every JSON format of svkit shares: std::optional as null-or-value, and
// a dump that never throws (text that is not UTF-8 is replaced, not fatal).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nlohmann {
template <class T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& value) {
    j = value ? json(*value) : json(nullptr);
  }
  static void from_json(const json& j, std::optional<T>& value) {
    value = j.is_null() ? std::nullopt : std::optional<T>(j.get<T>());
  }
};
}  // namespace nlohmann

namespace svkit {

// Compact JSON text; text that is not UTF-8 is replaced, not fatal.
inline std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One line of JSON and a newline.
inline std::string json_line(const nlohmann::json& j) {
  return json_text(j) + "\n";
}

// "[json.exception.type_error.302] type must be string" → "type must be string".
inline std::string json_problem(const nlohmann::json::exception& e) {
  std::string what = e.what();
  if (auto bracket = what.find("] "); bracket != std::string::npos) what.erase(0, bracket + 2);
  return what;
}

}  // namespace svkit
