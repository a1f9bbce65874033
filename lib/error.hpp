// One error convention for the shared library and state/: a call that can
// fail returns an Error — one line for people, and the errno it came from,
// read at the failure (0 when no system call failed). Programs turn it into a
// log line and an exit code at their edges; nobody parses the text.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace svkit {

struct Error {
  std::string line;
  int errnum = 0;
};

// "WHAT: <strerror(errno)>" with errno read first, before anything can change it.
Error errno_error(const std::string& what);
// The same for an errno value kept earlier.
Error errno_error(const std::string& what, int errnum);

// What a call that returns nothing else gives back: nullopt when it worked.
using Failure = std::optional<Error>;

// A value or the Error that kept it from being made.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  explicit operator bool() const { return v_.index() == 0; }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace svkit
