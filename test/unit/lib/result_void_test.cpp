#include <catch2/catch.hpp>
#include <stdexcept>

#include "weft/result.h"

namespace {

struct DetailedError : weft::Error {
  int kind = 0;
};

weft::Result<void> must_be_even(int n) {
  if (n % 2 != 0) return weft::Error{"odd"};
  return {};
}

}  // namespace

TEST_CASE("Result<void> is success or an error", "[result]") {
  const auto ok = must_be_even(2);
  CHECK(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK_NOTHROW(ok.value());
  CHECK_THROWS_AS(ok.error(), std::logic_error);

  const auto bad = must_be_even(3);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "odd");
  CHECK_THROWS_WITH(bad.value(), Catch::Contains("odd"));
}

TEST_CASE("Result<void> keeps the message of a derived error", "[result]") {
  const weft::Result<void, DetailedError> detailed = DetailedError{{"refused"}, 7};
  CHECK(detailed.is_error(7));
  CHECK_FALSE(detailed.is_error(8));
  const weft::Result<void> plain = detailed;
  REQUIRE_FALSE(plain);
  CHECK(plain.error().message == "refused");
  const weft::Result<void> fine = weft::Result<void, DetailedError>{};
  CHECK(fine);
}
