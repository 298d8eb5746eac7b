#include "identity/source_limiter.h"

#include <catch2/catch.hpp>

using weft::identity::SourceLimiter;
using weft::identity::SourceLimits;
using Verdict = SourceLimiter::Verdict;
using namespace std::chrono_literals;

namespace {
const SourceLimiter::Clock::time_point kStart{1000s};
}

TEST_CASE("each address has its own burst, then its rate", "[identity][source_limiter]") {
  SourceLimiter limiter({.qps = 2, .burst = 3, .max_sources = 100});
  for (int i = 0; i < 3; ++i) CHECK(limiter.admit("10.0.0.1", kStart) == Verdict::kAdmitted);
  CHECK(limiter.admit("10.0.0.1", kStart) == Verdict::kOverRate);
  CHECK(limiter.admit("10.0.0.1", kStart + 100ms) == Verdict::kOverRate);
  CHECK(limiter.admit("10.0.0.2", kStart) == Verdict::kAdmitted);  // another pod is untouched
  CHECK(limiter.admit("10.0.0.1", kStart + 500ms) == Verdict::kAdmitted);  // 2/s: one more
  CHECK(limiter.admit("10.0.0.1", kStart + 500ms) == Verdict::kOverRate);
  // Refused attempts do not dig a deeper hole: the refill is on time.
  CHECK(limiter.admit("10.0.0.1", kStart + 1000ms) == Verdict::kAdmitted);
  // Idle long enough, the burst is back, and no more than it.
  for (int i = 0; i < 3; ++i) CHECK(limiter.admit("10.0.0.1", kStart + 60s) == Verdict::kAdmitted);
  CHECK(limiter.admit("10.0.0.1", kStart + 60s) == Verdict::kOverRate);
}

TEST_CASE("the table of addresses is bounded", "[identity][source_limiter]") {
  SourceLimiter limiter({.qps = 1, .burst = 2, .max_sources = 2});
  CHECK(limiter.admit("a", kStart) == Verdict::kAdmitted);
  CHECK(limiter.admit("b", kStart) == Verdict::kAdmitted);
  // Both still owe: a third address waits until one has refilled.
  CHECK(limiter.admit("c", kStart) == Verdict::kTableFull);
  CHECK(limiter.sources() == 2);
  CHECK(limiter.admit("c", kStart + 1s) == Verdict::kAdmitted);  // a and b forgotten
  CHECK(limiter.sources() == 1);
  // A forgotten address starts again with its full burst, as a new one would.
  CHECK(limiter.admit("a", kStart + 1s) == Verdict::kAdmitted);
}

TEST_CASE("a rate of zero is no limit", "[identity][source_limiter]") {
  SourceLimiter limiter({.qps = 0, .burst = 1, .max_sources = 1});
  for (int i = 0; i < 100; ++i) {
    CHECK(limiter.admit(std::to_string(i), kStart) == Verdict::kAdmitted);
  }
  CHECK(limiter.sources() == 0);
}
