#pragma once

// Exponential backoff with jitter, for watch restarts and retries:
// delay n = min(initial * factor^n, max), then scaled by a random factor in
// [1 - jitter, 1 + jitter] so that many clients restarting together spread out.
// The defaults follow kube-rs' watcher (800 ms doubling to 30 s) with client-go's
// 1.0 factor jitter cut to +-50 % so the cap stays meaningful.

#include <chrono>
#include <functional>
#include <random>

namespace weft::kube {

struct BackoffPolicy {
  std::chrono::milliseconds initial{800};
  std::chrono::milliseconds max{30'000};
  double factor = 2.0;
  double jitter = 0.5;  // 0 disables jitter; clamped to [0, 1]
};

class Backoff {
 public:
  // uniform01 returns a number in [0, 1); tests pass a fixed sequence. The
  // default draws from a per-instance generator seeded from std::random_device.
  explicit Backoff(BackoffPolicy policy = {}, std::function<double()> uniform01 = {});

  // The next delay, growing with each call until reset().
  std::chrono::milliseconds next();
  // After a success: the next delay is `initial` again.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  std::function<double()> uniform01_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace weft::kube
