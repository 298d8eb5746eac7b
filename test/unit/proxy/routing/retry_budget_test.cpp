#include "proxy/routing/retry_budget.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {
const Clock::time_point kStart = Clock::time_point() + 1000h;
}

TEST_CASE("the minimum retries per second are always allowed", "[retry_budget]") {
  // 0 %, 2/s over 10s: 20 retries per window, however few requests.
  RetryBudget budget({0, 2, 10s});
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += budget.try_withdraw(kStart) ? 1 : 0;
  CHECK(allowed == 20);
}

TEST_CASE("retries may add the percentage of requests", "[retry_budget]") {
  RetryBudget budget({20, 0, 10s});
  for (int i = 0; i < 100; ++i) budget.on_request(kStart);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += budget.try_withdraw(kStart) ? 1 : 0;
  CHECK(allowed == 20);
}

TEST_CASE("the window slides: old requests and retries stop counting", "[retry_budget]") {
  RetryBudget budget({10, 0, 10s});
  for (int i = 0; i < 100; ++i) budget.on_request(kStart);
  for (int i = 0; i < 10; ++i) CHECK(budget.try_withdraw(kStart));
  CHECK_FALSE(budget.try_withdraw(kStart));
  CHECK_FALSE(budget.try_withdraw(kStart + 5s));  // still inside the window
  // After the window, the old requests no longer earn retries.
  CHECK_FALSE(budget.try_withdraw(kStart + 11s));
  for (int i = 0; i < 10; ++i) budget.on_request(kStart + 11s);
  CHECK(budget.try_withdraw(kStart + 11s));
  CHECK_FALSE(budget.try_withdraw(kStart + 11s));
}
