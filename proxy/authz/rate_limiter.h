#pragma once

// Per-client token buckets shared by every worker thread of the proxy:
// MeshPolicy.spec.rateLimit. A client is its mTLS identity, or its source
// address without one; each (policy, client) has its own bucket. Memory is
// bounded: at most `max_clients` buckets (a client past it is refused, not
// tracked, and counted), and buckets idle long enough to be full again are
// forgotten. Sharded locks keep workers from contending.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "weft/proxyconfig/document.h"

namespace weft::proxy::authz {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Verdict {
    bool allowed = true;
    std::chrono::seconds retry_after{0};  // when refused: whole seconds, at least 1
    bool untracked = false;               // refused because max_clients buckets exist
  };

  explicit RateLimiter(std::size_t max_clients);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from the bucket of (policy, client), creating it full.
  // A changed limit for an existing bucket applies from now on.
  Verdict take(std::string_view policy, std::string_view client,
               const proxyconfig::RateLimit& limit, Clock::time_point now);

  // Drops buckets that would be full again by `now`; returns how many.
  std::size_t forget_idle(Clock::time_point now);
  std::size_t tracked() const;
  // Refusals because max_clients buckets existed (for the proxy's metric).
  std::uint64_t untracked_refusals() const;

 private:
  struct Shard;
  static constexpr std::size_t kShards = 16;
  std::unique_ptr<Shard[]> shards_;
  std::size_t max_per_shard_;
  std::uint64_t shard_seed_;
  std::atomic<std::uint64_t> untracked_{0};
};

}  // namespace weft::proxy::authz
