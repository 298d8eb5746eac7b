// RateLimiter (proxy/authz/rate_limiter.h): per-(policy, client) token buckets
// driven by a fake clock, so every count below is exact.

#include "proxy/authz/rate_limiter.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

using weft::proxy::authz::RateLimiter;
using weft::proxyconfig::RateLimit;
using namespace std::chrono_literals;

namespace {

const RateLimiter::Clock::time_point t0 = RateLimiter::Clock::time_point{} + 1000s;

int allowed_of(RateLimiter& limiter, std::string_view client, const RateLimit& limit,
               RateLimiter::Clock::time_point now, int attempts) {
  int allowed = 0;
  for (int i = 0; i < attempts; ++i) allowed += limiter.take("p", client, limit, now).allowed;
  return allowed;
}

}  // namespace

TEST_CASE("rate limiter: a burst, then refusal with Retry-After", "[authz][rate_limiter]") {
  RateLimiter limiter(100);
  const RateLimit limit{.requests_per_second = 2, .burst = 5};
  CHECK(allowed_of(limiter, "a", limit, t0, 20) == 5);
  const auto refused = limiter.take("p", "a", limit, t0);
  CHECK_FALSE(refused.allowed);
  CHECK_FALSE(refused.untracked);
  CHECK(refused.retry_after == 1s);  // 0.5 s to the next token, rounded up

  // Another client and another policy have their own buckets.
  CHECK(allowed_of(limiter, "b", limit, t0, 20) == 5);
  CHECK(limiter.take("q", "a", limit, t0).allowed);
}

TEST_CASE("rate limiter: Retry-After is the time to the next token, rounded up",
          "[authz][rate_limiter]") {
  RateLimiter limiter(100);
  // 1 rps, burst 1: once used, the next token is 1 s away.
  const RateLimit limit{.requests_per_second = 1, .burst = 1};
  CHECK(limiter.take("p", "a", limit, t0).allowed);
  CHECK(limiter.take("p", "a", limit, t0).retry_after == 1s);
  CHECK(limiter.take("p", "a", limit, t0 + 300ms).retry_after == 1s);
  CHECK(limiter.take("p", "a", limit, t0 + 1s).allowed);
}

TEST_CASE("rate limiter: refill rate over simulated time", "[authz][rate_limiter]") {
  RateLimiter limiter(100);
  const RateLimit limit{.requests_per_second = 10, .burst = 10};
  CHECK(allowed_of(limiter, "a", limit, t0, 100) == 10);
  // 10 per second: 100 ms earns exactly one token, 250 ms two (and a half kept).
  CHECK(allowed_of(limiter, "a", limit, t0 + 100ms, 100) == 1);
  CHECK(allowed_of(limiter, "a", limit, t0 + 350ms, 100) == 2);
  CHECK(allowed_of(limiter, "a", limit, t0 + 400ms, 100) == 1);  // the half plus a half
  // Over 3.7 s in 37 steps of 100 ms: one token each.
  int total = 0;
  for (int step = 1; step <= 37; ++step) {
    total += allowed_of(limiter, "a", limit, t0 + 400ms + step * 100ms, 100);
  }
  CHECK(total == 37);
  // A long idle time fills the bucket to burst, not beyond.
  CHECK(allowed_of(limiter, "a", limit, t0 + 1h, 100) == 10);
}

TEST_CASE("rate limiter: a changed limit applies from now on", "[authz][rate_limiter]") {
  RateLimiter limiter(100);
  const RateLimit slow{.requests_per_second = 1, .burst = 2};
  const RateLimit fast{.requests_per_second = 100, .burst = 200};
  CHECK(allowed_of(limiter, "a", slow, t0, 10) == 2);
  // At t0+1 s the bucket earned 1 token at the old rate; the next second at 100/s.
  CHECK(allowed_of(limiter, "a", fast, t0 + 1s, 1000) == 1);
  CHECK(allowed_of(limiter, "a", fast, t0 + 2s, 1000) == 100);
  // Lowering the burst caps what the bucket holds (it was full at 200).
  CHECK(allowed_of(limiter, "a", slow, t0 + 10s, 1000) == 2);
}

TEST_CASE("rate limiter: past max_clients a new client is refused untracked",
          "[authz][rate_limiter]") {
  const RateLimit limit{.requests_per_second = 1, .burst = 1};
  RateLimiter limiter(32);  // two per shard
  int untracked = 0;
  for (int i = 0; i < 200; ++i) {
    const auto verdict = limiter.take("p", "client-" + std::to_string(i), limit, t0);
    if (verdict.untracked) {
      ++untracked;
      CHECK_FALSE(verdict.allowed);
      CHECK(verdict.retry_after >= 1s);
    }
  }
  CHECK(limiter.tracked() <= 32);
  CHECK(limiter.tracked() + untracked == 200);
  CHECK(limiter.untracked_refusals() == static_cast<std::uint64_t>(untracked));
  CHECK(untracked >= 200 - 32);

  // Once the buckets are full again a full shard forgets them to make room.
  const auto later = limiter.take("p", "newcomer", limit, t0 + 1s);
  CHECK(later.allowed);
  CHECK_FALSE(later.untracked);
}

TEST_CASE("rate limiter: idle buckets are forgotten once full again", "[authz][rate_limiter]") {
  RateLimiter limiter(100);
  const RateLimit limit{.requests_per_second = 2, .burst = 4};
  allowed_of(limiter, "a", limit, t0, 4);  // empty: full again after 2 s
  allowed_of(limiter, "b", limit, t0, 1);  // 3 of 4: full again after 0.5 s
  CHECK(limiter.tracked() == 2);
  CHECK(limiter.forget_idle(t0 + 499ms) == 0);
  CHECK(limiter.forget_idle(t0 + 500ms) == 1);
  CHECK(limiter.tracked() == 1);
  CHECK(limiter.forget_idle(t0 + 1999ms) == 0);
  CHECK(limiter.forget_idle(t0 + 2s) == 1);
  CHECK(limiter.tracked() == 0);
}

TEST_CASE("rate limiter: four threads on one key share its tokens exactly",
          "[authz][rate_limiter]") {
  RateLimiter limiter(100);
  const RateLimit limit{.requests_per_second = 300, .burst = 1000};
  std::atomic<int> allowed{0};
  auto hammer = [&](RateLimiter::Clock::time_point now) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, now] {
        for (int i = 0; i < 2000; ++i) allowed += limiter.take("p", "k", limit, now).allowed;
      });
    }
    for (auto& thread : threads) thread.join();
  };
  hammer(t0);
  CHECK(allowed == 1000);  // the burst
  hammer(t0 + 2s);
  CHECK(allowed == 1000 + 300 * 2);  // burst + rate * elapsed
}
