// The keyed log throttle: one line per key and interval, the skipped count
// reported with the next line, and a bounded set of keys.
#include "weft/log_throttle.h"

#include <catch2/catch.hpp>

using weft::KeyedLogThrottle;
using namespace std::chrono_literals;

TEST_CASE("each key gets one line per interval, with the count it skipped", "[log_throttle]") {
  KeyedLogThrottle throttle(10s, 16);
  const auto t0 = KeyedLogThrottle::Clock::time_point() + 1h;
  CHECK(throttle.admit("a", t0) == 0u);
  CHECK_FALSE(throttle.admit("a", t0 + 1s).has_value());
  CHECK_FALSE(throttle.admit("a", t0 + 9s).has_value());
  CHECK(throttle.admit("b", t0 + 2s) == 0u);  // another client is not held back
  CHECK(throttle.admit("a", t0 + 10s) == 2u);
  CHECK(throttle.admit("a", t0 + 20s) == 0u);
}

TEST_CASE("the keys remembered are bounded; new keys past it share one throttle",
          "[log_throttle]") {
  KeyedLogThrottle throttle(10s, 2);
  const auto t0 = KeyedLogThrottle::Clock::time_point() + 1h;
  CHECK(throttle.admit("a", t0).has_value());
  CHECK(throttle.admit("b", t0).has_value());
  CHECK(throttle.admit("c", t0) == 0u);  // the shared throttle's first line
  CHECK_FALSE(throttle.admit("d", t0 + 1s).has_value());
  CHECK_FALSE(throttle.admit("e", t0 + 2s).has_value());
  CHECK(throttle.keys() == 2);
  // Once a and b are quiet past their interval, they make room.
  CHECK(throttle.admit("f", t0 + 11s) == 0u);
  CHECK(throttle.keys() == 1);
}

TEST_CASE("a key with skipped events is not forgotten before its count is said", "[log_throttle]") {
  KeyedLogThrottle throttle(10s, 1);
  const auto t0 = KeyedLogThrottle::Clock::time_point() + 1h;
  CHECK(throttle.admit("a", t0).has_value());
  CHECK_FALSE(throttle.admit("a", t0 + 1s).has_value());
  CHECK(throttle.admit("b", t0 + 12s).has_value());  // shared throttle: a is kept
  CHECK(throttle.admit("a", t0 + 13s) == 1u);
}
