#pragma once

// Request latencies for weft-load's summary. Every sample is kept up to a
// capacity; past it a uniform random subset of that size is kept (reservoir
// sampling), so a load generator running for days stays small while its
// percentiles remain unbiased estimates. The maximum is always exact.

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace weft::samples {

// Nearest-rank percentile of sorted values: the smallest value such that at
// least p percent of the values are at or below it. p in (0, 100]; 0 if empty.
double nearest_rank_percentile(const std::vector<double>& sorted, double p);

struct LatencyPercentiles {
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
};

class LatencySamples {
 public:
  static constexpr std::size_t kDefaultCapacity = 200'000;  // 1.6 MB of doubles

  explicit LatencySamples(std::size_t capacity = kDefaultCapacity);

  void add(double milliseconds);
  std::uint64_t count() const { return seen_; }  // all samples added, kept or not
  std::size_t kept() const { return samples_.size(); }
  LatencyPercentiles percentiles() const;

 private:
  std::size_t capacity_;
  std::vector<double> samples_;
  std::uint64_t seen_ = 0;
  double max_ = 0;
  std::mt19937_64 random_{0x5eed};  // fixed: runs are reproducible
};

}  // namespace weft::samples
