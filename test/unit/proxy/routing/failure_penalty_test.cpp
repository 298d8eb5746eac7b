#include "proxy/routing/failure_penalty.h"

#include <catch2/catch.hpp>
#include <cmath>

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {
const Clock::time_point kStart = Clock::time_point() + 1h;
}  // namespace

TEST_CASE("an endpoint without failures has no penalty", "[failure_penalty]") {
  FailurePenalty penalty;
  CHECK(penalty.multiplier(kStart) == 1);
  for (int i = 0; i < 100; ++i) penalty.on_success(kStart + i * 1ms);
  CHECK(penalty.multiplier(kStart + 1s) == 1);
  CHECK(penalty.failure_ratio(kStart + 1s) == 0);
}

TEST_CASE("the penalty follows the recent failure ratio", "[failure_penalty]") {
  FailurePenalty penalty;
  Clock::time_point now = kStart;
  // One in five failing, over a window long compared to the prior.
  for (int i = 1; i <= 1000; ++i) {
    now += 10ms;
    if (i % 5 == 0) {
      penalty.on_failure(now);
    } else {
      penalty.on_success(now);
    }
  }
  CHECK(penalty.failure_ratio(now) == Approx(0.2).margin(0.01));
  CHECK(penalty.multiplier(now) ==
        Approx(1 + kFailureWeight * (0.2 - kToleratedRatio)).margin(0.2));
}

TEST_CASE("a single failure on a quiet endpoint weighs little", "[failure_penalty]") {
  FailurePenalty penalty;
  penalty.on_failure(kStart);
  // 1 / (1 + kPriorSuccesses), not a 100 % failure ratio.
  CHECK(penalty.failure_ratio(kStart) == Approx(1 / (1 + kPriorSuccesses)));
}

TEST_CASE("the penalty decays back to none without traffic", "[failure_penalty]") {
  FailurePenalty penalty;
  Clock::time_point now = kStart;
  for (int i = 0; i < 100; ++i) {
    now += 10ms;
    penalty.on_failure(now);
  }
  const double high = penalty.multiplier(now);
  CHECK(high > 15);
  // About a minute for an endpoint that failed everything, idle since.
  CHECK(penalty.multiplier(now + 10s) < high);
  CHECK(penalty.multiplier(now + 30s) < penalty.multiplier(now + 10s));
  CHECK(penalty.multiplier(now + 90s) == 1);
}

TEST_CASE("successes after failures bring the penalty down", "[failure_penalty]") {
  FailurePenalty penalty;
  Clock::time_point now = kStart;
  for (int i = 0; i < 50; ++i) penalty.on_failure(now += 10ms);
  const double after_failures = penalty.multiplier(now);
  for (int i = 0; i < 3000; ++i) penalty.on_success(now += 10ms);  // 30 s healthy
  CHECK(penalty.multiplier(now) == 1);
  CHECK(after_failures > 15);
}

TEST_CASE("the decay is exp's, for outcomes microseconds or seconds apart", "[failure_penalty]") {
  // Short gaps take a cheaper series than std::exp; both must agree.
  for (const Clock::duration gap :
       {Clock::duration(1us), Clock::duration(200us), Clock::duration(9ms), Clock::duration(11ms),
        Clock::duration(3s), Clock::duration(30s)}) {
    FailurePenalty penalty;
    penalty.on_failure(kStart);
    const double x =
        std::chrono::duration<double>(gap) / std::chrono::duration<double>(kOutcomeDecay);
    const double weight = std::exp(-x);
    CHECK(penalty.failure_ratio(kStart + gap) ==
          Approx(weight / (weight + kPriorSuccesses)).epsilon(1e-9));
  }
}
