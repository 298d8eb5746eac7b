#include "proxy/http2/progress_watch.h"

#include <catch2/catch.hpp>

using namespace weft::proxy::http2;
using namespace std::chrono_literals;

TEST_CASE("a counter that stays still while waiting is stalled after the limit", "[http2]") {
  ProgressWatch watch;
  const auto t = ProgressWatch::Clock::time_point{} + 1h;
  CHECK_FALSE(watch.stalled(10, true, t, 3s));       // first look: from now
  CHECK_FALSE(watch.stalled(10, true, t + 2s, 3s));  // still within the limit
  CHECK(watch.stalled(10, true, t + 3s, 3s));
}

TEST_CASE("any progress starts the limit again", "[http2]") {
  ProgressWatch watch;
  const auto t = ProgressWatch::Clock::time_point{} + 1h;
  CHECK_FALSE(watch.stalled(10, true, t, 3s));
  CHECK_FALSE(watch.stalled(11, true, t + 2s, 3s));  // one byte: a slow reader, not a stalled one
  CHECK_FALSE(watch.stalled(11, true, t + 4s, 3s));
  CHECK(watch.stalled(11, true, t + 5s, 3s));
}

TEST_CASE("nothing waiting is never stalled, and waiting again starts afresh", "[http2]") {
  ProgressWatch watch;
  const auto t = ProgressWatch::Clock::time_point{} + 1h;
  CHECK_FALSE(watch.stalled(10, true, t, 3s));
  CHECK_FALSE(watch.stalled(10, false, t + 10s, 3s));  // the write ended: nothing to send
  CHECK_FALSE(watch.stalled(10, true, t + 11s, 3s));   // a new write: counted from here
  CHECK_FALSE(watch.stalled(10, true, t + 13s, 3s));
  CHECK(watch.stalled(10, true, t + 14s, 3s));
}
