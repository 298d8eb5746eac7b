#pragma once

// Per-endpoint failure accrual (MeshPolicy circuitBreaker): after
// consecutive_failures failures in a row the endpoint is ejected for
// ejection_time, doubled at each new ejection up to max_ejection_time; after
// an ejection ends the endpoint is tried again, and a success resets the
// doubling. Time is passed in, so tests control it.

#include <chrono>
#include <cstdint>
#include <optional>

#include "weft/proxyconfig/document.h"

namespace weft::proxy {

using Clock = std::chrono::steady_clock;

class FailureAccrual {
 public:
  bool available(Clock::time_point now) const { return now >= ejected_until_; }
  void on_success() {
    consecutive_failures_ = 0;
    ejections_ = 0;
  }
  // Returns true when this failure ejected the endpoint.
  bool on_failure(Clock::time_point now, const std::optional<proxyconfig::CircuitBreaker>& policy);

  std::uint32_t consecutive_failures() const { return consecutive_failures_; }
  std::uint32_t ejections() const { return ejections_; }
  Clock::time_point ejected_until() const { return ejected_until_; }

 private:
  std::uint32_t consecutive_failures_ = 0;
  std::uint32_t ejections_ = 0;  // since the last success
  Clock::time_point ejected_until_{};
};

}  // namespace weft::proxy
