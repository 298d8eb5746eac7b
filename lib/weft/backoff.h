#pragma once

// Exponential backoff with jitter, the one rule for every retry loop (watch
// restarts, conflict retries, the operator's work queue):
//
//   d = min(initial * factor^attempt, max)      the exponential ceiling
//   delay drawn uniformly from [(1 - jitter) * d, d]
//
// Jitter only ever shortens a delay, so `max` is a promise a reader can rely on
// (a work queue documented to wait at most 60 s waits at most 60 s), and the
// floor (1 - jitter) * d keeps the growth exponential. jitter = 0.5 is AWS's
// "equal jitter", jitter = 1 its "full jitter": one rule spans both, where
// scaling around d or above it (the rules replaced) broke the cap by up to 50 %.
// The defaults follow kube-rs' watcher (800 ms doubling to 30 s).

#include <chrono>
#include <functional>
#include <random>

namespace weft {

struct BackoffPolicy {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{30'000};
  double factor = 2.0;  // below 1 counts as 1
  double jitter = 0.5;  // share of the delay that may be cut; clamped to [0, 1]
};

// The delay before retry number `attempt` (0 for the first), with uniform01 a
// draw in [0, 1) (clamped): 0 gives the full ceiling d. A pure function, for
// callers that keep their own attempt counts (one per work-queue key).
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int attempt, double uniform01);

// backoff_delay with its attempt count and random source.
class Backoff {
 public:
  // uniform01 returns a number in [0, 1); tests pass a fixed sequence. The
  // default draws from a per-instance generator seeded from std::random_device.
  explicit Backoff(BackoffPolicy policy = {}, std::function<double()> uniform01 = {});

  // The next delay, growing with each call until reset().
  std::chrono::milliseconds next();
  // After a success: the next delay is at most `initial` again.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  std::function<double()> uniform01_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace weft
