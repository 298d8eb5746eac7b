#pragma once

// A token bucket: `burst` requests may go at once, then `qps` per second.
// Time comes from a clock function so tests control it.

#include <chrono>
#include <functional>
#include <mutex>
#include <stop_token>

namespace weft::kube {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  using ClockFn = std::function<Clock::time_point()>;

  // qps <= 0 disables the limit (every reserve() returns zero). burst < 1 is taken as 1.
  TokenBucket(double qps, int burst, ClockFn clock = Clock::now);

  // Takes one token, possibly borrowed from the future, and returns how long
  // the caller must wait before sending (zero when a token was available).
  // Reservations queue up in order, so waiters are served first come, first served.
  Clock::duration reserve();

  // reserve() then sleeps the wait. Returns false (the token stays spent) if
  // `stop` was requested while waiting.
  bool acquire(std::stop_token stop = {});

  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  const double qps_;
  const int burst_;
  const ClockFn clock_;
  std::mutex mutex_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace weft::kube
