#include "proxy/authz/rate_limiter.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>

namespace weft::proxy::authz {
namespace {

// Tokens are counted in billionths so that refill over nanoseconds is exact
// integer arithmetic: a fake clock gives exact counts, and no drift builds up.
constexpr std::int64_t kUnit = 1'000'000'000;

struct Bucket {
  std::int64_t units = 0;  // tokens * kUnit
  RateLimiter::Clock::time_point last;
  proxyconfig::RateLimit limit;
};

std::int64_t capacity(const proxyconfig::RateLimit& limit) {
  return static_cast<std::int64_t>(std::max(limit.burst, std::uint32_t{1})) * kUnit;
}
std::int64_t rate(const proxyconfig::RateLimit& limit) {
  // rate tokens/s is `rate` units per nanosecond.
  return std::max<std::int64_t>(limit.requests_per_second, 1);
}

// Nanoseconds until the bucket holds `target` units (0 when it does already).
std::int64_t nanos_until(const Bucket& bucket, std::int64_t target) {
  if (bucket.units >= target) return 0;
  const std::int64_t r = rate(bucket.limit);
  return (target - bucket.units + r - 1) / r;
}

// Adds what the bucket earned since its last update, up to its capacity.
void refill(Bucket& bucket, RateLimiter::Clock::time_point now) {
  if (now <= bucket.last) return;  // a clock read late by another thread earns nothing
  const std::int64_t elapsed =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - bucket.last).count();
  const std::int64_t cap = capacity(bucket.limit);
  // Compared before multiplying: a long idle time times the rate would overflow.
  if (elapsed >= nanos_until(bucket, cap)) {
    bucket.units = std::max(bucket.units, cap);
  } else {
    bucket.units += elapsed * rate(bucket.limit);
  }
  bucket.last = now;
}

bool full_by(const Bucket& bucket, RateLimiter::Clock::time_point now) {
  if (now <= bucket.last) return bucket.units >= capacity(bucket.limit);
  const std::int64_t elapsed =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - bucket.last).count();
  return elapsed >= nanos_until(bucket, capacity(bucket.limit));
}

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

}  // namespace

struct RateLimiter::Shard {
  mutable std::mutex mutex;
  std::unordered_map<std::string, Bucket, KeyHash, std::equal_to<>> buckets;

  std::size_t forget_idle(Clock::time_point now) {
    return std::erase_if(buckets, [now](const auto& entry) { return full_by(entry.second, now); });
  }
};

RateLimiter::RateLimiter(std::size_t max_clients)
    : shards_(std::make_unique<Shard[]>(kShards)),
      max_per_shard_((max_clients + kShards - 1) / kShards),
      shard_seed_(std::random_device{}()) {}

RateLimiter::~RateLimiter() = default;

RateLimiter::Verdict RateLimiter::take(std::string_view policy, std::string_view client,
                                       const proxyconfig::RateLimit& limit, Clock::time_point now) {
  // One buffer per thread: the key is built without allocating once it has grown.
  thread_local std::string key;
  key.assign(policy);
  key += '\0';  // neither a policy name nor a client contains NUL
  key.append(client);
  // The shard is chosen with a secret of this process: nobody can pick
  // client names that all land in one shard and fill it.
  Shard& shard = shards_[(KeyHash{}(key) ^ shard_seed_) * 0x9E3779B97F4A7C15ULL >> 60];

  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(std::string_view(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) shard.forget_idle(now);
    if (shard.buckets.size() >= max_per_shard_) {
      untracked_.fetch_add(1, std::memory_order_relaxed);
      return Verdict{.allowed = false, .retry_after = std::chrono::seconds(1), .untracked = true};
    }
    it = shard.buckets.emplace(key, Bucket{.units = capacity(limit), .last = now, .limit = limit})
             .first;
  }
  Bucket& bucket = it->second;
  refill(bucket, now);  // earned at the old rate up to now
  if (!(bucket.limit == limit)) {
    bucket.limit = limit;
    bucket.units = std::min(bucket.units, capacity(limit));
  }
  if (bucket.units >= kUnit) {
    bucket.units -= kUnit;
    return Verdict{};
  }
  const std::int64_t wait_ns = nanos_until(bucket, kUnit);
  const std::int64_t seconds = std::max<std::int64_t>(1, (wait_ns + kUnit - 1) / kUnit);
  return Verdict{.allowed = false, .retry_after = std::chrono::seconds(seconds)};
}

std::size_t RateLimiter::forget_idle(Clock::time_point now) {
  std::size_t forgotten = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    forgotten += shards_[i].forget_idle(now);
  }
  return forgotten;
}

std::size_t RateLimiter::tracked() const {
  std::size_t count = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    count += shards_[i].buckets.size();
  }
  return count;
}

std::uint64_t RateLimiter::untracked_refusals() const {
  return untracked_.load(std::memory_order_relaxed);
}

}  // namespace weft::proxy::authz
