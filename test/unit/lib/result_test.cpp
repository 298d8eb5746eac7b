#include "weft/result.h"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace {

weft::Result<int> half(int n) {
  if (n % 2 != 0) return weft::Error{"odd"};
  return n / 2;
}

}  // namespace

TEST_CASE("Result holds a value", "[result]") {
  const auto r = half(8);
  REQUIRE(r.has_value());
  REQUIRE(static_cast<bool>(r));
  CHECK(r.value() == 4);
  CHECK(*r == 4);
  CHECK_THROWS_AS(r.error(), std::logic_error);
}

TEST_CASE("Result holds an error", "[result]") {
  const auto r = half(7);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "odd");
  CHECK_THROWS_WITH(r.value(), Catch::Contains("odd"));
}

TEST_CASE("Result of string tells value and error apart", "[result]") {
  const weft::Result<std::string> value = std::string("ok");
  const weft::Result<std::string> error = weft::Error{"bad"};
  CHECK(value.has_value());
  CHECK(value->size() == 2);
  CHECK_FALSE(error.has_value());
  CHECK(error.error().message == "bad");
}

TEST_CASE("Result value can be moved out", "[result]") {
  weft::Result<std::string> r = std::string(100, 'x');
  const std::string taken = std::move(r).value();
  CHECK(taken.size() == 100);
}

namespace {

// An error type with a kind, as kube::ApiError: derives from weft::Error.
enum class Kind { kA, kB };
struct KindError : weft::Error {
  Kind kind = Kind::kA;
};

template <typename R>
concept HasIsError = requires(const R& r) {
  r.is_error(Kind::kA);
};

}  // namespace

TEST_CASE("Result with a derived error tells its kind", "[result]") {
  const weft::Result<int, KindError> failed = KindError{{"b failed"}, Kind::kB};
  CHECK(failed.is_error(Kind::kB));
  CHECK_FALSE(failed.is_error(Kind::kA));
  const weft::Result<int, KindError> ok = 3;
  CHECK_FALSE(ok.is_error(Kind::kB));
  // Only error types with a kind offer is_error.
  STATIC_REQUIRE(HasIsError<weft::Result<int, KindError>>);
  STATIC_REQUIRE_FALSE(HasIsError<weft::Result<int>>);
}

TEST_CASE("Result with a derived error converts to the plain Result", "[result]") {
  weft::Result<std::string, KindError> failed = KindError{{"b failed"}, Kind::kB};
  const weft::Result<std::string> plain = failed;
  REQUIRE_FALSE(plain);
  CHECK(plain.error().message == "b failed");

  // A function returning weft::Result<T> may return the richer Result as is.
  auto forward = [](weft::Result<std::string, KindError> r) -> weft::Result<std::string> {
    return r;
  };
  const auto moved = forward(std::string(64, 'y'));
  REQUIRE(moved);
  CHECK(moved->size() == 64);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<weft::Result<int>, weft::Result<int, KindError>>);
}
