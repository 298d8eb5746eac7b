#pragma once

// TokenReviews per client address: each address has a token bucket of
// `burst` reviews refilled at `qps`, so one pod flooding weft-identity with
// tokens (valid-looking or not) spends its own budget, not the replica's
// --review-qps that every other proxy's certificate depends on. A proxy asks
// once at start and then every ~17 h, so a small budget is ample.
//
// Non-blocking (a refused review is a 429 the proxy retries after its
// backoff), unlike kube::TokenBucket, which makes its caller wait its turn.
// The table of addresses is bounded: when full, addresses whose bucket has
// refilled are forgotten (they hold no debt); when none has, a new address
// is refused until one does.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace weft::identity {

struct SourceLimits {
  double qps = 2;     // <= 0: no limit
  double burst = 20;  // reviews an address may make at once
  std::size_t max_sources = 10'000;
};

class SourceLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { kAdmitted, kOverRate, kTableFull };

  explicit SourceLimiter(SourceLimits limits);
  // Takes one review from `source`'s bucket, if it has one. Thread-safe.
  Verdict admit(std::string_view source, Clock::time_point now);
  std::size_t sources();

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  double refilled(const Bucket& bucket, Clock::time_point now) const;
  void forget_full(Clock::time_point now);

  const SourceLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace weft::identity
