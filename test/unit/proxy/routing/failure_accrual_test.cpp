#include "proxy/routing/failure_accrual.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
using weft::proxyconfig::CircuitBreaker;
using namespace std::chrono_literals;

namespace {
const Clock::time_point kStart = Clock::time_point() + 1h;
}  // namespace

TEST_CASE("failure accrual ejects after consecutive failures, with doubling backoff",
          "[failure_accrual]") {
  const CircuitBreaker breaker{3, 10s, 25s};
  FailureAccrual accrual;
  Clock::time_point now = kStart;
  CHECK_FALSE(accrual.on_failure(now, breaker));
  CHECK_FALSE(accrual.on_failure(now, breaker));
  accrual.on_success();  // not consecutive any more
  CHECK_FALSE(accrual.on_failure(now, breaker));
  CHECK_FALSE(accrual.on_failure(now, breaker));
  CHECK(accrual.on_failure(now, breaker));  // third in a row: ejected for 10s
  CHECK_FALSE(accrual.available(now + 9s));
  CHECK(accrual.available(now + 10s));
  now += 10s;
  for (int i = 0; i < 3; ++i) (void)accrual.on_failure(now, breaker);
  CHECK(accrual.ejected_until() == now + 20s);  // doubled
  now += 20s;
  for (int i = 0; i < 3; ++i) (void)accrual.on_failure(now, breaker);
  CHECK(accrual.ejected_until() == now + 25s);  // capped at the maximum
  accrual.on_success();
  now += 25s;
  for (int i = 0; i < 3; ++i) (void)accrual.on_failure(now, breaker);
  CHECK(accrual.ejected_until() == now + 10s);  // a success reset the doubling
}

TEST_CASE("without a circuit breaker an endpoint is never ejected", "[failure_accrual]") {
  FailureAccrual accrual;
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(accrual.on_failure(kStart, std::nullopt));
  CHECK(accrual.available(kStart));
}
