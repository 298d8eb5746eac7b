#include "weft/kube/rate_limiter.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace weft::kube;
using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

namespace {
struct FakeClock {
  Clock::time_point now{};
  TokenBucket::ClockFn fn() {
    return [this] { return now; };
  }
};
}  // namespace

TEST_CASE("a burst goes at once, then requests are spaced at 1/qps") {
  FakeClock clock;
  TokenBucket bucket(10, 3, clock.fn());
  CHECK(bucket.reserve() == 0ns);
  CHECK(bucket.reserve() == 0ns);
  CHECK(bucket.reserve() == 0ns);
  // Waiters queue: the 4th waits one interval, the 5th two.
  CHECK(bucket.reserve() == 100ms);
  CHECK(bucket.reserve() == 200ms);
}

TEST_CASE("tokens refill with time, up to the burst") {
  FakeClock clock;
  TokenBucket bucket(5, 2, clock.fn());
  CHECK(bucket.reserve() == 0ns);
  CHECK(bucket.reserve() == 0ns);
  CHECK(bucket.reserve() == 200ms);
  clock.now += 200ms;  // pays back the borrowed token
  CHECK(bucket.reserve() == 200ms);
  clock.now += 10s;  // refills to the burst only, not 50 tokens
  CHECK(bucket.reserve() == 0ns);
  CHECK(bucket.reserve() == 0ns);
  CHECK(bucket.reserve() == 200ms);
}

TEST_CASE("sustained rate over a minute of fake time equals qps") {
  FakeClock clock;
  TokenBucket bucket(20, 30, clock.fn());
  int sent = 0;
  // Each caller sends when its reservation says; count what fits in 60 s.
  auto end = clock.now + 60s;
  while (true) {
    auto wait = bucket.reserve();
    if (clock.now + wait > end) break;
    clock.now += wait;
    ++sent;
  }
  CHECK(sent == 30 + 20 * 60);
}

TEST_CASE("qps <= 0 disables the limiter; burst < 1 is taken as 1") {
  FakeClock clock;
  TokenBucket off(0, 1, clock.fn());
  for (int i = 0; i < 1000; ++i) REQUIRE(off.reserve() == 0ns);
  TokenBucket one(1, 0, clock.fn());
  CHECK(one.burst() == 1);
  CHECK(one.reserve() == 0ns);
  CHECK(one.reserve() == 1s);
}

TEST_CASE("acquire returns early when stopped") {
  TokenBucket bucket(0.01, 1);  // the second token would take 100 s
  REQUIRE(bucket.acquire());
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    stop.request_stop();
  });
  auto start = Clock::now();
  CHECK_FALSE(bucket.acquire(stop.get_token()));
  stopper.join();
  CHECK(Clock::now() - start < 30s);  // generous: only "not 100 s"
}
