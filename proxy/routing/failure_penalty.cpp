#include "proxy/routing/failure_penalty.h"

#include <algorithm>
#include <cmath>

namespace weft::proxy {
namespace {
// Below this a failure's weight no longer matters (it moves the multiplier by
// under 0.01 % of kFailureWeight): dropping it restores the cheap path.
constexpr double kNegligible = 1e-4;
}  // namespace

double FailurePenalty::decay_to(Clock::time_point now) const {
  const double elapsed_ms = std::chrono::duration<double, std::milli>(now - updated_).count();
  const double x = std::max(0.0, elapsed_ms) / static_cast<double>(kOutcomeDecay.count());
  // Busy endpoints see outcomes microseconds apart (x below 1e-6): there the
  // series' first terms equal exp to within x^3/6, at a tenth of exp's cost,
  // which every response pays.
  if (x < 1e-3) return 1 - x + x * x / 2;
  return std::exp(-x);
}

double FailurePenalty::failure_ratio(Clock::time_point now) const {
  if (failures_ == 0) return 0;
  const double weight = decay_to(now);
  return failures_ * weight / ((successes_ + failures_) * weight + kPriorSuccesses);
}

double FailurePenalty::multiplier(Clock::time_point now) const {
  if (failures_ == 0) return 1;
  return 1 + kFailureWeight * std::max(0.0, failure_ratio(now) - kToleratedRatio);
}

void FailurePenalty::observe(Clock::time_point now, bool failed) {
  const double weight = decay_to(now);
  successes_ = successes_ * weight + (failed ? 0 : 1);
  failures_ = failures_ * weight + (failed ? 1 : 0);
  if (failures_ < kNegligible) failures_ = 0;
  updated_ = now;
}

}  // namespace weft::proxy
