#include "weft/kube/backoff.h"

#include <algorithm>
#include <cmath>

namespace weft::kube {

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform01)
    : policy_(policy), uniform01_(std::move(uniform01)), rng_(std::random_device{}()) {
  policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  if (policy_.factor < 1.0) policy_.factor = 1.0;
  if (policy_.max < policy_.initial) policy_.max = policy_.initial;
}

std::chrono::milliseconds Backoff::next() {
  double base = static_cast<double>(policy_.initial.count()) *
                std::pow(policy_.factor, static_cast<double>(attempt_));
  base = std::min(base, static_cast<double>(policy_.max.count()));
  attempt_ = std::min(attempt_ + 1, 64);  // the cap is reached long before
  double random =
      uniform01_ ? uniform01_() : std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  // Scale by a factor in [1 - jitter, 1 + jitter).
  double scale = 1.0 + policy_.jitter * (2.0 * std::clamp(random, 0.0, 1.0) - 1.0);
  return std::chrono::milliseconds(static_cast<long long>(std::llround(base * scale)));
}

}  // namespace weft::kube
