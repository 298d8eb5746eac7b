#pragma once

// Result<T, E>: a value or an error, for parsing untrusted input and calling
// servers without exceptions (DESIGN.md: bad input gets a clear error and
// changes nothing). GCC 12 has no std::expected; the names below follow it so
// a later switch is mechanical.
//
// E defaults to weft::Error (a message for the user). A richer error derives
// from weft::Error (kube::ApiError adds the kind and HTTP status), and a
// Result<T, Derived> converts implicitly into Result<T, Error>, so a function
// returning weft::Result<T> can `return client.get(...)` directly.
//
// Result<void> is success or an error: `return {};` succeeds.

#include <concepts>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace weft {

// Why an input was rejected, phrased for the user who wrote the input.
struct Error {
  std::string message;
};

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;

  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(E error) : state_(std::in_place_index<1>, std::move(error)) {}

  // From a Result whose error type derives from E (the derived part is
  // dropped, the message kept).
  template <typename E2>
  requires(!std::same_as<E2, E> && std::derived_from<E2, E>) Result(const Result<T, E2>& other)
      : state_(other.has_value()
                   ? State(std::in_place_index<0>, other.value())
                   : State(std::in_place_index<1>, static_cast<const E&>(other.error()))) {}
  template <typename E2>
  requires(!std::same_as<E2, E> && std::derived_from<E2, E>) Result(Result<T, E2>&& other)
      : state_(other.has_value()
                   ? State(std::in_place_index<0>, std::move(other).value())
                   : State(std::in_place_index<1>, static_cast<const E&>(other.error()))) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // Reading the wrong side is a bug in the caller, not bad input: it throws.
  const T& value() const& { return std::get<0>(checked(true)); }
  T& value() & { return std::get<0>(checked(true)); }
  T&& value() && { return std::get<0>(std::move(checked(true))); }
  const E& error() const& { return std::get<1>(checked(false)); }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // True when this is an error of that kind; only for error types with a
  // `kind` member (kube::ApiError).
  template <typename Kind>
  requires requires(const E& e, Kind k) {
    { e.kind == k } -> std::convertible_to<bool>;
  }
  bool is_error(Kind kind) const { return !has_value() && std::get<1>(state_).kind == kind; }

 private:
  using State = std::variant<T, E>;

  const State& checked(bool want_value) const {
    if (has_value() != want_value) {
      throw std::logic_error(want_value ? "Result::value() called on an error: " +
                                              std::get<1>(state_).message
                                        : "Result::error() called on a value");
    }
    return state_;
  }
  State& checked(bool want_value) {
    std::as_const(*this).checked(want_value);
    return state_;
  }

  State state_;
};

// Success without a value, or an error (std::expected<void, E>).
template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Result() = default;
  Result(E error) : error_(std::move(error)) {}

  template <typename E2>
  requires(!std::same_as<E2, E> && std::derived_from<E2, E>) Result(const Result<void, E2>& other) {
    if (!other.has_value()) error_.emplace(static_cast<const E&>(other.error()));
  }

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }

  // As for Result<T>: asking for the wrong side is a bug in the caller.
  void value() const {
    if (error_) throw std::logic_error("Result::value() called on an error: " + error_->message);
  }
  const E& error() const& {
    if (!error_) throw std::logic_error("Result::error() called on a value");
    return *error_;
  }

  template <typename Kind>
  requires requires(const E& e, Kind k) {
    { e.kind == k } -> std::convertible_to<bool>;
  }
  bool is_error(Kind kind) const { return error_ && error_->kind == kind; }

 private:
  std::optional<E> error_;
};

}  // namespace weft
