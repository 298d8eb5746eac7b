#include "weftctl/stat/traffic_window.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

namespace weft::ctl::stat {
namespace {

// A series: its name and labels (the value aside).
struct SeriesKey {
  const std::string* name;
  const Labels* labels;
  bool operator<(const SeriesKey& other) const {
    if (*name != *other.name) return *name < *other.name;
    return *labels < *other.labels;
  }
};

bool counted_series(const Sample& sample) {
  return sample.name == "response_total" || sample.name == "response_latency_ms_bucket" ||
         sample.name == "tcp_open_connections";
}

void add(Traffic& traffic, const Sample& sample, double amount) {
  if (sample.name == "tcp_open_connections") {
    traffic.tcp_open_connections += amount;
    return;
  }
  if (sample.name == "response_latency_ms_bucket") {
    const std::string_view le = label(sample, "le");
    const double bound = le == "+Inf" ? std::numeric_limits<double>::infinity()
                                      : std::strtod(std::string(le).c_str(), nullptr);
    traffic.latency_buckets[bound] += amount;
    return;
  }
  traffic.responses += amount;
  if (label(sample, "classification") == "success") traffic.successes += amount;
  if (label(sample, "tls") == "true") {
    traffic.mtls_responses += amount;
    const std::string_view direction = label(sample, "direction");
    const std::string_view peer = label(sample, direction == "inbound" ? "client_id" : "server_id");
    if (!peer.empty()) traffic.identities[std::string(peer)] += amount;
  }
}

}  // namespace

double counter_increase(double before, double after) {
  return after < before ? after : after - before;
}

std::map<std::string, Traffic> traffic_by_row(const std::vector<PodScrapes>& scrapes,
                                              const SeriesGroup& group) {
  std::map<std::string, Traffic> rows;
  for (const PodScrapes& pod : scrapes) {
    std::map<SeriesKey, double> before;
    for (const Sample& sample : pod.before) {
      if (counted_series(sample)) before[{&sample.name, &sample.labels}] = sample.value;
    }
    for (const Sample& sample : pod.after) {
      if (!counted_series(sample)) continue;
      const std::vector<std::string> keys = group(pod.pod, sample);
      if (keys.empty()) continue;
      double amount = sample.value;  // a gauge (tcp_open_connections): its value now
      if (sample.name != "tcp_open_connections") {
        const auto earlier = before.find({&sample.name, &sample.labels});
        amount = counter_increase(earlier == before.end() ? 0.0 : earlier->second, sample.value);
      }
      for (const std::string& key : keys) {
        Traffic& traffic = rows[key];
        traffic.pods.insert(pod.pod);
        add(traffic, sample, amount);
      }
    }
  }
  // Resets detected per series can leave a bucket below the one before it;
  // Prometheus makes them monotonic before interpolating, and so do we.
  for (auto& [name, traffic] : rows) {
    double highest = 0;
    for (auto& [bound, count] : traffic.latency_buckets) {
      highest = std::max(highest, count);
      count = highest;
    }
  }
  return rows;
}

std::optional<double> histogram_quantile(double q, const std::map<double, double>& buckets) {
  if (buckets.empty()) return std::nullopt;
  const double total = buckets.rbegin()->second;
  if (!(total > 0)) return std::nullopt;
  const double rank = q * total;
  double lower_bound = 0;
  double lower_count = 0;
  double highest_finite = 0;
  for (const auto& [bound, count] : buckets) {
    if (std::isinf(bound)) break;
    if (count >= rank) {
      if (count == lower_count) return bound;
      return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count);
    }
    lower_bound = bound;
    lower_count = count;
    highest_finite = bound;
  }
  // In the +Inf bucket: nothing better is known than the highest finite bound.
  return highest_finite;
}

GoldenMetrics golden_metrics(const Traffic& traffic, std::chrono::duration<double> window) {
  GoldenMetrics metrics;
  metrics.requests = traffic.responses;
  metrics.successes = traffic.successes;
  metrics.tcp_open_connections = traffic.tcp_open_connections;
  if (window.count() > 0) metrics.requests_per_second = traffic.responses / window.count();
  if (traffic.responses > 0) {
    metrics.success_rate = traffic.successes / traffic.responses;
    metrics.mtls_share = traffic.mtls_responses / traffic.responses;
    metrics.p50_ms = histogram_quantile(0.50, traffic.latency_buckets);
    metrics.p95_ms = histogram_quantile(0.95, traffic.latency_buckets);
    metrics.p99_ms = histogram_quantile(0.99, traffic.latency_buckets);
  }
  std::vector<std::pair<std::string, double>> identities(traffic.identities.begin(),
                                                         traffic.identities.end());
  std::stable_sort(identities.begin(), identities.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (auto& [identity, count] : identities) {
    if (count > 0) metrics.identities.push_back(std::move(identity));
  }
  return metrics;
}

}  // namespace weft::ctl::stat
