// Structs whose JSON form is a table of (key, member) pairs, found by
// `fields_of(std::type_identity<T>)`: the one spelling of their keys, for the
// DOM (to_json, from_json), for a writer that builds no DOM (supervise writes
// its status at every change) and for a SAX reader (`svctl stat` reads a
// thousand of them). Enums are written as the words of their EnumWords table.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "json.hpp"

namespace svkit {

// Enums are written as words. Each table is the enum's one spelling; the
// tables are constant data (no JSON objects built at run time, which every
// supervise would carry in its private memory).
template <class E, size_t N>
using EnumWords = std::array<std::pair<E, const char*>, N>;

template <class E, size_t N>
const char* enum_word(E value, const EnumWords<E, N>& words) {
  for (const auto& [e, word] : words) {
    if (e == value) return word;
  }
  return nullptr;
}

// An unknown word reads as the first value (a newer writer's word).
template <class E, size_t N>
E enum_from_word(std::string_view text, const EnumWords<E, N>& words) {
  for (const auto& [e, word] : words) {
    if (text == word) return e;
  }
  return words[0].first;
}

#define SVKIT_ENUM_WORDS(E, TABLE)                                  \
  inline constexpr const auto& words_of(E) {                        \
    return TABLE;                                                   \
  }                                                                 \
  inline void to_json(nlohmann::json& j, E value) {                 \
    const char* word = enum_word(value, TABLE);                     \
    j = word ? nlohmann::json(word) : nlohmann::json(nullptr);      \
  }                                                                 \
  inline void from_json(const nlohmann::json& j, E& value) {        \
    value = enum_from_word(j.get_ref<const std::string&>(), TABLE); \
  }

template <class T, class M>
struct Field {
  const char* key;
  M T::*member;
};

template <class T>
concept Fielded = requires {
  fields_of(std::type_identity<T>{});
};

template <class E>
concept WordEnum = std::is_enum_v<E> && requires(E e) {
  words_of(e);
};

namespace json_fields {

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;
template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;

template <Fielded T>
constexpr auto fields() {
  return fields_of(std::type_identity<T>{});
}

// In nlohmann's order (its objects are sorted maps), so that a file reads the
// same whichever of the two wrote it.
template <Fielded T>
constexpr bool keys_sorted() {
  return std::apply(
      [](const auto&... field) {
        std::string_view previous;
        bool sorted = true;
        ((sorted = sorted && previous < std::string_view(field.key), previous = field.key), ...);
        return sorted;
      },
      fields<T>());
}

inline void write_string(std::string& out, std::string_view text) {
  bool plain = true;
  for (unsigned char c : text) plain = plain && c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  if (plain) {
    out += '"';
    out += text;
    out += '"';
  } else {  // escapes and UTF-8 (text that is not UTF-8 is replaced): nlohmann's
    out += json_text(std::string(text));
  }
}

template <Fielded T>
void write_object(std::string& out, const T& object);

template <class V>
void write_value(std::string& out, const V& value) {
  if constexpr (std::is_same_v<V, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_integral_v<V>) {
    char digits[24];
    out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
  } else if constexpr (std::is_same_v<V, std::string>) {
    write_string(out, value);
  } else if constexpr (WordEnum<V>) {
    const char* word = enum_word(value, words_of(value));
    word ? write_string(out, word) : void(out += "null");
  } else if constexpr (is_optional<V>) {
    value ? write_value(out, *value) : void(out += "null");
  } else if constexpr (is_vector<V>) {
    out += '[';
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ',';
      write_value(out, value[i]);
    }
    out += ']';
  } else if constexpr (std::is_same_v<V, nlohmann::json>) {
    out += value.is_null() ? "null" : json_text(value);
  } else {
    write_object(out, value);
  }
}

template <Fielded T>
void write_object(std::string& out, const T& object) {
  static_assert(keys_sorted<T>(), "list the fields in byte order of their keys");
  char separator = '{';
  std::apply(
      [&](const auto&... field) {
        ((out += separator, separator = ',', write_string(out, field.key), out += ':',
          write_value(out, object.*field.member)),
         ...);
      },
      fields<T>());
  if (separator == '{') out += '{';
  out += '}';
}

// The member behind fields<T>()[index], handed to f; false when there is none.
template <Fielded T, class F>
bool with_field(T& object, size_t index, F&& f) {
  bool result = false;
  size_t i = 0;
  std::apply(
      [&](const auto&... field) {
        ((i++ == index ? void(result = f(object.*field.member)) : void()), ...);
      },
      fields<T>());
  return result;
}

inline constexpr size_t kNoField = size_t(-1);

template <Fielded T>
size_t index_of(std::string_view key) {
  size_t i = 0, found = kNoField;
  std::apply([&](const auto&... field) { ((found = key == field.key ? i : found, ++i), ...); },
             fields<T>());
  return found;
}

// One scalar of the text, as the SAX parser hands it over.
struct Scalar {
  enum class Kind { null, boolean, integer, unsigned_integer, string } kind;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  std::string* string = nullptr;
};

// False: a member that does not take this scalar (the caller's DOM fallback
// says what is wrong, in nlohmann's words).
template <class M>
bool assign(M& member, const Scalar& value) {
  using K = Scalar::Kind;
  if constexpr (std::is_same_v<M, bool>) {
    if (value.kind != K::boolean) return false;
    member = value.boolean;
    return true;
  } else if constexpr (std::is_integral_v<M>) {
    if (value.kind == K::integer && std::in_range<M>(value.integer)) {
      member = M(value.integer);
      return true;
    }
    if (value.kind == K::unsigned_integer && std::in_range<M>(value.unsigned_integer)) {
      member = M(value.unsigned_integer);
      return true;
    }
    return false;
  } else if constexpr (std::is_same_v<M, std::string>) {
    if (value.kind != K::string) return false;
    member = std::move(*value.string);
    return true;
  } else if constexpr (WordEnum<M>) {
    if (value.kind != K::string) return false;
    member = enum_from_word(*value.string, words_of(member));
    return true;
  } else if constexpr (is_optional<M>) {
    if (value.kind == K::null) {
      member.reset();
      return true;
    }
    typename M::value_type inner{};
    if (!assign(inner, value)) return false;
    member = std::move(inner);
    return true;
  } else if constexpr (std::is_same_v<M, nlohmann::json>) {
    switch (value.kind) {
      case K::null:
        member = nullptr;
        return true;
      case K::boolean:
        member = value.boolean;
        return true;
      case K::integer:
        member = value.integer;
        return true;
      case K::unsigned_integer:
        member = value.unsigned_integer;
        return true;
      case K::string:
        member = std::move(*value.string);
        return true;
    }
    return false;
  } else {
    return false;
  }
}

// The struct a member holds as a JSON object (itself, or in an optional).
template <class M>
auto* nested_object(M& member) {
  if constexpr (Fielded<M>) {
    return &member;
  } else if constexpr (is_optional<M>) {
    if constexpr (Fielded<typename M::value_type>) {
      return member ? &*member : &member.emplace();
    } else {
      return static_cast<void*>(nullptr);
    }
  } else {
    return static_cast<void*>(nullptr);
  }
}

// Whether a member is read as a nested object (nested_object gives it).
template <class M>
inline constexpr bool holds_object =
    !std::is_same_v<decltype(nested_object(std::declval<M&>())), void*>;

// An nlohmann SAX handler that fills a T straight from the text: its own
// members' shapes only, one level of nesting (an object of a fielded struct,
// an array of scalars). Any other shape stops it (false): the caller then
// parses a DOM, which takes everything and names what it cannot.
template <Fielded T>
class Reader {
 public:
  explicit Reader(T& target) : target_(target) {}
  bool complete() const { return done_; }

  bool null() { return scalar({.kind = Scalar::Kind::null}); }
  bool boolean(bool v) { return scalar({.kind = Scalar::Kind::boolean, .boolean = v}); }
  bool number_integer(int64_t v) { return scalar({.kind = Scalar::Kind::integer, .integer = v}); }
  bool number_unsigned(uint64_t v) {
    return scalar({.kind = Scalar::Kind::unsigned_integer, .unsigned_integer = v});
  }
  bool number_float(double, const std::string&) { return skipping_ > 0 || ignored(); }
  bool string(std::string& v) { return scalar({.kind = Scalar::Kind::string, .string = &v}); }
  bool binary(nlohmann::json::binary_t&) { return false; }
  bool parse_error(size_t, const std::string&, const nlohmann::json::exception&) { return false; }

  bool start_object(size_t) {
    if (skipping_ > 0 || ignored()) return ++skipping_, true;
    if (level_ == Level::none) return level_ = Level::top, true;
    if (level_ != Level::top) return false;
    inner_ = kNoField;
    level_ = Level::object;
    return with_field(target_, field_, [](auto& member) {
      if constexpr (holds_object<std::remove_cvref_t<decltype(member)>>) {
        nested_object(member);  // an empty object is a value too
        return true;
      } else {
        return false;
      }
    });
  }
  bool key(std::string& key) {
    if (skipping_ > 0) return true;
    if (level_ == Level::top) {
      field_ = index_of<T>(key);
      return true;
    }
    return with_field(target_, field_, [&](auto& member) {
      if constexpr (holds_object<std::remove_cvref_t<decltype(member)>>) {
        inner_ = index_of<std::remove_pointer_t<decltype(nested_object(member))>>(key);
        return true;
      } else {
        return false;
      }
    });
  }
  bool end_object() {
    if (skipping_ > 0) return --skipping_, true;
    if (level_ == Level::object) {
      field_ = kNoField;
      return level_ = Level::top, true;
    }
    done_ = level_ == Level::top;
    level_ = Level::none;
    return done_;
  }
  bool start_array(size_t) {
    if (skipping_ > 0 || ignored()) return ++skipping_, true;
    if (level_ != Level::top) return false;
    level_ = Level::array;
    return with_field(target_, field_, [](auto& member) {
      if constexpr (is_vector<std::remove_cvref_t<decltype(member)>>) {
        member.clear();
        return true;
      } else {
        return false;
      }
    });
  }
  bool end_array() {
    if (skipping_ > 0) return --skipping_, true;
    field_ = kNoField;
    return level_ = Level::top, true;
  }

 private:
  enum class Level { none, top, object, array };

  // A key this struct does not have (a newer writer's): its value is skipped.
  bool ignored() const {
    return (level_ == Level::top && field_ == kNoField) ||
           (level_ == Level::object && inner_ == kNoField);
  }

  bool scalar(const Scalar& value) {
    if (skipping_ > 0 || ignored()) return true;
    switch (level_) {
      case Level::none:
        return false;
      case Level::top:
        return with_field(target_, field_, [&](auto& m) { return assign(m, value); });
      case Level::array:
        return with_field(target_, field_, [&](auto& member) {
          if constexpr (is_vector<std::remove_cvref_t<decltype(member)>>) {
            typename std::remove_cvref_t<decltype(member)>::value_type element{};
            if (!assign(element, value)) return false;
            member.push_back(std::move(element));
            return true;
          } else {
            return false;
          }
        });
      case Level::object:
        return with_field(target_, field_, [&](auto& member) {
          if constexpr (holds_object<std::remove_cvref_t<decltype(member)>>) {
            return with_field(*nested_object(member), inner_,
                              [&](auto& m) { return assign(m, value); });
          } else {
            return false;
          }
        });
    }
    return false;
  }

  T& target_;
  Level level_ = Level::none;
  size_t field_ = kNoField, inner_ = kNoField;
  int skipping_ = 0;
  bool done_ = false;
};

}  // namespace json_fields

// The DOM: every fielded struct of svkit, through its table.
template <Fielded T>
void to_json(nlohmann::json& j, const T& object) {
  j = nlohmann::json::object();
  std::apply([&](const auto&... field) { ((j[field.key] = object.*field.member), ...); },
             json_fields::fields<T>());
}

// Keys that are absent keep their defaults.
template <Fielded T>
void from_json(const nlohmann::json& j, T& object) {
  if (!j.is_object()) {
    throw nlohmann::json::type_error::create(
        302, std::string("type must be object, but is ") + j.type_name(), &j);
  }
  auto take = [&](const auto& field) {
    if (const auto it = j.find(field.key); it != j.end()) it->get_to(object.*field.member);
  };
  std::apply([&](const auto&... field) { (take(field), ...); }, json_fields::fields<T>());
}

// One line of the struct's JSON and a newline, with no DOM built.
template <Fielded T>
std::string fields_line(const T& object) {
  std::string out;
  out.reserve(512);
  json_fields::write_object(out, object);
  out += '\n';
  return out;
}

// Parses `text` into `object` without a DOM; false: a shape the reader does
// not take (or not JSON), for the caller to parse as a DOM.
template <Fielded T>
bool read_fields(const std::string& text, T& object) {
  json_fields::Reader<T> reader(object);
  return nlohmann::json::sax_parse(text, &reader) && reader.complete();
}

}  // namespace svkit
