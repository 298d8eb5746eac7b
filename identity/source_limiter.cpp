#include "identity/source_limiter.h"

#include <algorithm>

namespace weft::identity {

SourceLimiter::SourceLimiter(SourceLimits limits) : limits_(limits) {}

double SourceLimiter::refilled(const Bucket& bucket, Clock::time_point now) const {
  const double elapsed = std::max(0.0, std::chrono::duration<double>(now - bucket.updated).count());
  return std::min(limits_.burst, bucket.tokens + elapsed * limits_.qps);
}

void SourceLimiter::forget_full(Clock::time_point now) {
  std::erase_if(buckets_,
                [&](const auto& entry) { return refilled(entry.second, now) >= limits_.burst; });
}

SourceLimiter::Verdict SourceLimiter::admit(std::string_view source, Clock::time_point now) {
  if (limits_.qps <= 0) return Verdict::kAdmitted;
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(std::string(source));
  if (it == buckets_.end()) {
    if (buckets_.size() >= limits_.max_sources) forget_full(now);
    if (buckets_.size() >= limits_.max_sources) return Verdict::kTableFull;
    it = buckets_.emplace(std::string(source), Bucket{limits_.burst, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = refilled(bucket, now);
  bucket.updated = now;
  if (bucket.tokens < 1) return Verdict::kOverRate;
  bucket.tokens -= 1;
  return Verdict::kAdmitted;
}

std::size_t SourceLimiter::sources() {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace weft::identity
