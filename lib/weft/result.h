#pragma once

// Result<T>: a value or an error message, for parsing untrusted input without
// exceptions (DESIGN.md: bad input gets a clear error and changes nothing).
// GCC 12 has no std::expected; the names below follow it so a later switch is
// mechanical.

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace weft {

// Why an input was rejected, phrased for the user who wrote the input.
struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Reading the wrong side is a bug in the caller, not bad input: it throws.
  const T& value() const& { return std::get<0>(checked(true)); }
  T& value() & { return std::get<0>(checked(true)); }
  T&& value() && { return std::get<0>(std::move(checked(true))); }
  const Error& error() const& { return std::get<1>(checked(false)); }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  const std::variant<T, Error>& checked(bool want_value) const {
    if (has_value() != want_value) {
      throw std::logic_error(want_value ? "Result::value() called on an error: " +
                                              std::get<1>(state_).message
                                        : "Result::error() called on a value");
    }
    return state_;
  }
  std::variant<T, Error>& checked(bool want_value) {
    std::as_const(*this).checked(want_value);
    return state_;
  }

  std::variant<T, Error> state_;
};

}  // namespace weft
