#include "identity/pass_schedule.h"

#include <catch2/catch.hpp>

using namespace std::chrono;
using namespace weft::identity;

namespace {

const system_clock::time_point kNow = system_clock::time_point{} + hours(24 * 365 * 50);

}  // namespace

TEST_CASE("the runner waits the resync interval when no renewal comes sooner", "[pass_schedule]") {
  CHECK(next_pass_delay(seconds(30), {}, kNow) == seconds(30));
  CHECK(next_pass_delay(seconds(30), kNow + hours(16), kNow) == seconds(30));
}

TEST_CASE("the runner wakes for the serving certificate's renewal", "[pass_schedule]") {
  // 30 s leaves, renewed at 21 s, with a pass every 30 s: the renewal is not
  // left to the next pass, 9 s after the certificate expired.
  CHECK(next_pass_delay(seconds(30), kNow + seconds(21), kNow) == seconds(21));
  CHECK(next_pass_delay(seconds(30), kNow + milliseconds(2500), kNow) == milliseconds(2500));
}

TEST_CASE("a renewal already due is retried after a pause, not in a loop", "[pass_schedule]") {
  CHECK(next_pass_delay(seconds(30), kNow - seconds(5), kNow) == kMinPassDelay);
  CHECK(next_pass_delay(seconds(30), kNow, kNow) == kMinPassDelay);
  // A resync interval shorter than the pause stays the limit.
  CHECK(next_pass_delay(milliseconds(200), kNow - seconds(5), kNow) == milliseconds(200));
}
