#pragma once

// The arithmetic of `weftctl stat`: two scrapes of each proxy's /metrics, a
// window apart, turned into what happened in between, per row of the output
// (a deployment, a pod, a namespace, a route's backend). Pure: the scrapes
// are given, parsed.
//
// Counters are read as Prometheus' increase() reads them: a series whose
// value went down was reset (the proxy restarted, or the series expired and
// came back), so all of its second value happened in the window; a series
// only in the second scrape started in the window, from zero. Requests and
// successes come from response_total (its `classification`), so the success
// rate and the requests per second always describe the same requests;
// latency from response_latency_ms' buckets, summed over the group's series;
// TCP connections are the tcp_open_connections gauges at the second scrape.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "weftctl/stat/prometheus_text.h"

namespace weft::ctl::stat {

// One proxy's two scrapes.
struct PodScrapes {
  std::string pod;
  std::vector<Sample> before;
  std::vector<Sample> after;
};

// The rows a series of `pod` counts for (a route and one of its backends,
// say); none leaves it out (another direction, another target...). Called
// for the HTTP series (response_total, response_latency_ms_bucket) and
// tcp_open_connections.
using SeriesGroup =
    std::function<std::vector<std::string>(const std::string& pod, const Sample& sample)>;

// What one row's series add up to over the window.
struct Traffic {
  double responses = 0;
  double successes = 0;
  double mtls_responses = 0;  // of series with tls="true"
  // Upper bound ("le", +Inf included) -> responses at most that slow, cumulative.
  std::map<double, double> latency_buckets;
  double tcp_open_connections = 0;
  // The peer identities of mTLS responses (client_id inbound, server_id
  // outbound) -> responses.
  std::map<std::string, double> identities;
  std::set<std::string> pods;  // pods that had a series in the row
};

// How much a counter grew between two reads: `after - before`, or all of
// `after` when it went down (a reset).
double counter_increase(double before, double after);

// Every row's traffic over the window.
std::map<std::string, Traffic> traffic_by_row(const std::vector<PodScrapes>& scrapes,
                                              const SeriesGroup& group);

// The q-quantile (0 < q < 1) of cumulative buckets (bound -> count), as
// Prometheus' histogram_quantile: linear interpolation inside the bucket
// where the rank falls (the first bucket starts at 0); in the +Inf bucket,
// the highest finite bound. nullopt with no observation.
std::optional<double> histogram_quantile(double q, const std::map<double, double>& buckets);

// A row's golden metrics. With no request in the window the rates are unset
// ("-" in a table, null in JSON), never 0 %.
struct GoldenMetrics {
  double requests = 0;
  double successes = 0;
  double requests_per_second = 0;
  std::optional<double> success_rate;  // 0..1
  std::optional<double> p50_ms;
  std::optional<double> p95_ms;
  std::optional<double> p99_ms;
  double tcp_open_connections = 0;
  std::optional<double> mtls_share;     // 0..1, of the requests
  std::vector<std::string> identities;  // busiest first
};

GoldenMetrics golden_metrics(const Traffic& traffic, std::chrono::duration<double> window);

}  // namespace weft::ctl::stat
