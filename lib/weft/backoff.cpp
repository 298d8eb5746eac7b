#include "weft/backoff.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace weft {

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int attempt,
                                        double uniform01) {
  const double initial = static_cast<double>(std::max<long long>(policy.initial.count(), 0));
  const double max = std::max(initial, static_cast<double>(policy.max.count()));
  const double factor = std::max(policy.factor, 1.0);
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  // The cap is reached long before attempt 64; pow stays finite.
  const double ceiling =
      std::min(initial * std::pow(factor, static_cast<double>(std::clamp(attempt, 0, 64))), max);
  const double delay = ceiling * (1.0 - jitter * std::clamp(uniform01, 0.0, 1.0));
  return std::chrono::milliseconds(std::llround(delay));
}

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform01)
    : policy_(policy), uniform01_(std::move(uniform01)), rng_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::next() {
  const double draw =
      uniform01_ ? uniform01_() : std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const auto delay = backoff_delay(policy_, attempt_, draw);
  attempt_ = std::min(attempt_ + 1, 64);
  return delay;
}

}  // namespace weft
