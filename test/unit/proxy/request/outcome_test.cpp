#include "proxy/request/outcome.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;

TEST_CASE("a failed try's answer: 504 for a timeout, 400 for a bad body, else 502", "[outcome]") {
  CHECK(failure_status(TryFailure::kTimeout).status == 504);
  CHECK(failure_status(TryFailure::kTimeout).reason == "the upstream did not answer in time");
  CHECK(failure_status(TryFailure::kConnect).status == 502);
  CHECK(failure_status(TryFailure::kConnect).reason == "cannot connect to the upstream");
  CHECK(failure_status(TryFailure::kReset).status == 502);
  CHECK(failure_status(TryFailure::kBadResponse).status == 502);
  CHECK(failure_status(TryFailure::kBadRequestBody).status == 400);
  CHECK(failure_status(TryFailure::kNone).status == 0);
  CHECK(failure_status(TryFailure::kClientGone).status == 0);
}
