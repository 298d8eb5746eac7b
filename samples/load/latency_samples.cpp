#include "samples/load/latency_samples.h"

#include <algorithm>
#include <cmath>

namespace weft::samples {

double nearest_rank_percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const std::size_t index = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

LatencySamples::LatencySamples(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {}

void LatencySamples::add(double milliseconds) {
  ++seen_;
  max_ = std::max(max_, milliseconds);
  if (samples_.size() < capacity_) {
    samples_.push_back(milliseconds);
    return;
  }
  // Algorithm R: the n-th sample replaces a kept one with probability capacity/n.
  std::uniform_int_distribution<std::uint64_t> pick(0, seen_ - 1);
  if (const std::uint64_t slot = pick(random_); slot < capacity_) samples_[slot] = milliseconds;
}

LatencyPercentiles LatencySamples::percentiles() const {
  std::vector<double> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  return {nearest_rank_percentile(sorted, 50), nearest_rank_percentile(sorted, 95),
          nearest_rank_percentile(sorted, 99), max_};
}

}  // namespace weft::samples
