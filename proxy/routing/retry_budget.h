#pragma once

// A retry budget (MeshRoute retry.budget): over a sliding window of
// `interval`, retries may add `percent` % to the requests, plus
// min_retries_per_second x interval that are always allowed. The window is ten
// buckets, so it slides in steps of interval / 10. Time is passed in.

#include <array>
#include <cstdint>

#include "proxy/routing/failure_accrual.h"
#include "weft/proxyconfig/document.h"

namespace weft::proxy {

class RetryBudget {
 public:
  explicit RetryBudget(const proxyconfig::RetryBudget& policy) : policy_(policy) {}

  void on_request(Clock::time_point now);
  // True, and the retry is counted, when the budget allows one more now.
  bool try_withdraw(Clock::time_point now);

 private:
  static constexpr std::size_t kBuckets = 10;
  struct Bucket {
    std::int64_t epoch = -1;  // which bucket-length period of time it counts
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
  };
  Bucket& bucket(Clock::time_point now);
  std::int64_t epoch(Clock::time_point now) const;

  proxyconfig::RetryBudget policy_;
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace weft::proxy
