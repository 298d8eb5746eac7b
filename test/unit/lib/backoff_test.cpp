#include "weft/backoff.h"

#include <catch2/catch.hpp>

using weft::Backoff;
using weft::backoff_delay;
using weft::BackoffPolicy;
using namespace std::chrono_literals;

TEST_CASE("without jitter the delay grows by the factor up to the cap", "[backoff]") {
  Backoff backoff({100ms, 1000ms, 2.0, 0.0});
  CHECK(backoff.next() == 100ms);
  CHECK(backoff.next() == 200ms);
  CHECK(backoff.next() == 400ms);
  CHECK(backoff.next() == 800ms);
  CHECK(backoff.next() == 1000ms);
  CHECK(backoff.next() == 1000ms);
  CHECK(backoff.attempts() == 6);
  backoff.reset();
  CHECK(backoff.attempts() == 0);
  CHECK(backoff.next() == 100ms);
}

TEST_CASE("jitter cuts each delay into [(1 - j) * d, d]", "[backoff]") {
  double draw = 0.0;
  Backoff backoff({1000ms, 30'000ms, 2.0, 0.5}, [&] { return draw; });
  draw = 0.0;  // the full ceiling
  CHECK(backoff.next() == 1000ms);
  draw = 0.5;  // a quarter cut
  CHECK(backoff.next() == 1500ms);
  draw = 0.999999;  // nearly half cut
  CHECK(backoff.next() == 2000ms);
  draw = 1.7;  // out of range draws are clamped
  CHECK(backoff.next() == 4000ms);
  draw = -3;
  CHECK(backoff.next() == 16'000ms);
}

TEST_CASE("the cap holds after jitter, whatever the draw", "[backoff]") {
  const BackoffPolicy policy{50ms, 60'000ms, 2.0, 0.5};
  for (int attempt : {0, 5, 10, 11, 20, 64, 1000}) {
    for (double draw : {0.0, 0.25, 0.5, 0.999999, 1.0}) {
      const auto delay = backoff_delay(policy, attempt, draw);
      CHECK(delay <= 60'000ms);
      CHECK(delay >= backoff_delay(policy, attempt, 0.0) / 2);
    }
  }
  CHECK(backoff_delay(policy, 1000, 0.0) == 60'000ms);
  // Full jitter (1.0) may retry at once, but never later than the ceiling.
  CHECK(backoff_delay({100ms, 1000ms, 2.0, 1.0}, 3, 0.999999) == 0ms);
  CHECK(backoff_delay({100ms, 1000ms, 2.0, 1.0}, 3, 0.0) == 800ms);
}

TEST_CASE("random jitter stays within bounds", "[backoff]") {
  Backoff backoff({800ms, 30'000ms, 2.0, 0.5});
  std::chrono::milliseconds ceiling = 800ms;
  for (int i = 0; i < 20; ++i) {
    const auto delay = backoff.next();
    CHECK(delay >= ceiling / 2);
    CHECK(delay <= ceiling);
    ceiling = std::min<std::chrono::milliseconds>(ceiling * 2, 30'000ms);
  }
}

TEST_CASE("bad policies are made sane", "[backoff]") {
  // max raised to initial, factor to 1, jitter clamped to 1.
  CHECK(backoff_delay({1000ms, 10ms, 0.5, 0.0}, 0, 0.5) == 1000ms);
  CHECK(backoff_delay({1000ms, 10ms, 0.5, 0.0}, 7, 0.5) == 1000ms);
  CHECK(backoff_delay({1000ms, 10ms, 0.5, 3.0}, 1, 0.5) == 500ms);
  CHECK(backoff_delay({-5ms, 10ms, 2.0, 0.0}, 3, 0.0) == 0ms);
}
