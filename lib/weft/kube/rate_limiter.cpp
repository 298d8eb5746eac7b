#include "weft/kube/rate_limiter.h"

#include <algorithm>
#include <condition_variable>

namespace weft::kube {

TokenBucket::TokenBucket(double qps, int burst, ClockFn clock)
    : qps_(qps),
      burst_(std::max(burst, 1)),
      clock_(std::move(clock)),
      tokens_(burst_),
      last_(clock_()) {}

TokenBucket::Clock::duration TokenBucket::reserve() {
  if (qps_ <= 0) return Clock::duration::zero();
  std::lock_guard lock(mutex_);
  auto now = clock_();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  // Tokens may go negative: each waiter holds a reservation on a future
  // token, so the next one waits behind it.
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(-tokens_ / qps_));
}

bool TokenBucket::acquire(std::stop_token stop) {
  auto wait = reserve();
  if (wait <= Clock::duration::zero()) return true;
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  // Returns true only if stop was requested before the wait ran out.
  return !wake.wait_for(lock, stop, wait, [] { return false; }) && !stop.stop_requested();
}

}  // namespace weft::kube
