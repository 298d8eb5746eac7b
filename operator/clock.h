#pragma once

// The time source of the controller runtime. Delays and backoff are computed
// from Clock::now(), so tests drive time with ManualClock instead of sleeping.

#include <atomic>
#include <chrono>

namespace weft::op {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// Time that moves only when advance() is called (tests).
class ManualClock final : public Clock {
 public:
  TimePoint now() const override {
    return TimePoint(std::chrono::steady_clock::duration(ticks_.load()));
  }
  void advance(std::chrono::steady_clock::duration by) { ticks_.fetch_add(by.count()); }

 private:
  std::atomic<std::chrono::steady_clock::rep> ticks_{
      std::chrono::steady_clock::duration(std::chrono::hours(1)).count()};
};

}  // namespace weft::op
