#pragma once

// A bound on how often one kind of event is logged: traffic an attacker
// controls must not be able to fill the log. At most one line per interval;
// the events skipped in between are counted and reported with the next line.
// Shared by the workers: lock-free.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace weft {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // For an event at `now`: the number of events skipped since the last line
  // when this one may be logged, nullopt when it is skipped.
  std::optional<std::uint64_t> admit(Clock::time_point now) {
    const Clock::rep at = now.time_since_epoch().count();
    Clock::rep next = next_.load(std::memory_order_relaxed);
    if (at >= next &&
        next_.compare_exchange_strong(next, at + interval_.count(), std::memory_order_relaxed)) {
      return skipped_.exchange(0, std::memory_order_relaxed);
    }
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }

 private:
  const Clock::duration interval_;
  std::atomic<Clock::rep> next_{std::numeric_limits<Clock::rep>::min()};
  std::atomic<std::uint64_t> skipped_{0};
};

}  // namespace weft
