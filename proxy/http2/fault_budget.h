#pragma once

// A token bucket of faults a peer may cause: `burst` at once, then `rate`
// per second. Pure: the caller passes the time.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace weft::proxy::http2 {

class FaultBudget {
 public:
  using Clock = std::chrono::steady_clock;

  FaultBudget(std::uint64_t burst, std::uint64_t rate, Clock::time_point now)
      : burst_(burst), rate_(rate), tokens_(burst), refilled_(now) {}

  // One fault at `now`: false once the budget is spent.
  bool spend(Clock::time_point now) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - refilled_).count();
    if (seconds > 0) {
      tokens_ =
          std::min<std::uint64_t>(burst_, tokens_ + static_cast<std::uint64_t>(seconds) * rate_);
      refilled_ += std::chrono::seconds(seconds);
    }
    if (tokens_ == 0) return false;
    --tokens_;
    return true;
  }

 private:
  const std::uint64_t burst_;
  const std::uint64_t rate_;
  std::uint64_t tokens_;
  Clock::time_point refilled_;
};

}  // namespace weft::proxy::http2
