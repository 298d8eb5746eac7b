#include "weft/kube/retry.h"

#include <catch2/catch.hpp>

using namespace weft::kube;
using namespace std::chrono_literals;

namespace {
constexpr weft::BackoffPolicy kFast{1ms, 1ms, 1.0, 0.0};
ApiError conflict() {
  return make_error(ErrorKind::kConflict, "PUT /x", "stale", 409);
}
}  // namespace

TEST_CASE("retry_on_conflict repeats while the result is a conflict") {
  int calls = 0;
  auto result = retry_on_conflict(
      [&]() -> Result<int> {
        ++calls;
        if (calls < 3) return conflict();
        return calls;
      },
      5, kFast);
  REQUIRE(result);
  CHECK(*result == 3);
  CHECK(calls == 3);
}

TEST_CASE("retry_on_conflict gives up after max_attempts with the last conflict") {
  int calls = 0;
  auto result = retry_on_conflict(
      [&]() -> Result<int> {
        ++calls;
        return conflict();
      },
      4, kFast);
  CHECK(result.is_error(ErrorKind::kConflict));
  CHECK(calls == 4);
}

TEST_CASE("other errors are returned at once") {
  int calls = 0;
  auto result = retry_on_conflict(
      [&]() -> Result<int> {
        ++calls;
        return make_error(ErrorKind::kForbidden, "PUT /x", "no", 403);
      },
      5, kFast);
  CHECK(result.is_error(ErrorKind::kForbidden));
  CHECK(calls == 1);
}
