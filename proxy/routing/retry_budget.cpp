#include "proxy/routing/retry_budget.h"

namespace weft::proxy {

std::int64_t RetryBudget::epoch(Clock::time_point now) const {
  const auto bucket_length = std::max<std::int64_t>(1, policy_.interval.count() / kBuckets);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() /
         bucket_length;
}

RetryBudget::Bucket& RetryBudget::bucket(Clock::time_point now) {
  const std::int64_t current = epoch(now);
  Bucket& slot = buckets_[static_cast<std::size_t>(current) % kBuckets];
  if (slot.epoch != current) slot = Bucket{current, 0, 0};
  return slot;
}

void RetryBudget::on_request(Clock::time_point now) {
  ++bucket(now).requests;
}

bool RetryBudget::try_withdraw(Clock::time_point now) {
  const std::int64_t current = epoch(now);
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  for (const Bucket& b : buckets_) {
    if (b.epoch > current - static_cast<std::int64_t>(kBuckets) && b.epoch <= current) {
      requests += b.requests;
      retries += b.retries;
    }
  }
  const double interval_seconds = static_cast<double>(policy_.interval.count()) / 1000.0;
  const double allowed = policy_.min_retries_per_second * interval_seconds +
                         static_cast<double>(requests) * policy_.percent / 100.0;
  if (static_cast<double>(retries) + 1 > allowed) return false;
  ++bucket(now).retries;
  return true;
}

}  // namespace weft::proxy
