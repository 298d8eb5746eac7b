#pragma once

// How much an endpoint's recent failures count against it when a balancer
// chooses (docs/proxy.md, "Failures in the choice"). A pure latency or load
// estimate rewards an endpoint that fails fast; this multiplier (>= 1) of its
// load estimate makes failures cost:
//
//   ratio      = failures / (successes + failures + kPriorSuccesses)
//   multiplier = 1 + kFailureWeight x max(0, ratio - kToleratedRatio)
//
// with both counts decayed over kOutcomeDecay (a sliding ~10 s memory, whatever
// the request rate). kPriorSuccesses keeps a few failures on a quiet endpoint
// from weighing like a failure rate measured on many requests; kToleratedRatio
// keeps the last traces of old failures from deciding every tie (two-choice
// balancers compare costs strictly). The decay is also applied when reading,
// so an endpoint that no longer gets traffic drifts back to 1 and is tried
// again: never starved for good.
//
// Time is passed in, so tests control it. One worker thread only: no locks.

#include <chrono>

namespace weft::proxy {

using Clock = std::chrono::steady_clock;

inline constexpr std::chrono::milliseconds kOutcomeDecay{10'000};
inline constexpr double kFailureWeight = 20;
inline constexpr double kPriorSuccesses = 5;
inline constexpr double kToleratedRatio = 0.01;

class FailurePenalty {
 public:
  void on_success(Clock::time_point now) { observe(now, false); }
  void on_failure(Clock::time_point now) { observe(now, true); }

  // failures / (successes + failures + kPriorSuccesses), decayed to `now`.
  double failure_ratio(Clock::time_point now) const;
  // 1 for an endpoint without recent failures (no clock arithmetic then).
  double multiplier(Clock::time_point now) const;

 private:
  void observe(Clock::time_point now, bool failed);
  double decay_to(Clock::time_point now) const;

  double successes_ = 0;
  double failures_ = 0;
  Clock::time_point updated_{};
};

}  // namespace weft::proxy
