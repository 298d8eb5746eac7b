#include "weft/result.h"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

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
