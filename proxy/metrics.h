#pragma once

// Every metric weft-proxy exports, declared in one place (STYLE.md), with the
// label sets the issue asks for: direction (inbound/outbound), target_service
// (the Service "name:port", or the address when none matched) and route (the
// MeshRoute name, "" without one). Hot paths resolve a TargetMetrics once per
// (direction, target, route) and then only touch atomics.

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "weft/metrics.h"

namespace weft::proxy {

// Upper bounds, in milliseconds, of response_latency_ms (the list).
inline const std::vector<double> kLatencyBucketsMs = {
    1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,  300,
    400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000};

enum class Direction { kInbound, kOutbound };
std::string_view to_string(Direction direction);

// response_total's classification, Linkerd's: a 5xx is a failure, any other
// status a success (a 4xx is the server answering as designed, and so are the
// proxy's own 400/404/408/431); an exchange that got no response is a failure,
// which the proxy answers itself with 502, 503 or 504. A number that is not an
// HTTP status (below 100 or above 999) means no response: failure.
enum class Classification { kSuccess, kFailure };
Classification classify(int status);
std::string_view to_string(Classification classification);

// The limits on connections and time whose triggers limit_reached_total counts.
enum class Limit { kMaxConnections, kBodyIdleTimeout, kResponseTimeout, kTunnelIdleTimeout };
inline constexpr std::size_t kLimitCount = 4;
std::string_view to_string(Limit limit);

struct ProxyMetrics {
  explicit ProxyMetrics(Registry& registry);

  // limit_reached_total{direction, limit}: resolved once, lock-free to count.
  Counter& limit_reached(Direction direction, Limit limit) {
    return *limit_counters_[direction == Direction::kInbound ? 0 : 1]
                           [static_cast<std::size_t>(limit)];
  }

  Registry& registry;
  Family<Counter>& request_total;
  Family<Counter>& response_total;
  Family<Histogram>& response_latency_ms;
  Family<Counter>& retry_total;
  Family<Counter>& retry_budget_exhausted_total;
  Family<Counter>& tcp_open_total;
  Family<Counter>& tcp_close_total;
  Family<Gauge>& tcp_open_connections;
  Family<Counter>& tcp_read_bytes_total;
  Family<Counter>& tcp_write_bytes_total;
  Family<Counter>& protocol_detect_total;
  Counter& inbound_foreign_destination_total;
  Family<Counter>& upstream_pool_closed_total;
  Counter& upstream_retry_on_new_connection_total;
  Family<Counter>& config_reload_total;
  Family<Gauge>& config_last_reload_success_timestamp_seconds;
  Family<Counter>& limit_reached_total;
  Family<Counter>& interim_limit_total;

 private:
  std::array<std::array<Counter*, kLimitCount>, 2> limit_counters_{};
};

// The HTTP metrics of one (direction, target_service, route).
class RouteMetrics {
 public:
  RouteMetrics(ProxyMetrics& metrics, Direction direction, std::string target, std::string route);

  Counter& requests;
  Histogram& latency_ms;
  Counter& retries;
  Counter& budget_exhausted;
  // response_total for this status, classified by classify(). Lock-free
  // after the first use.
  Counter& response(int status);

 private:
  ProxyMetrics& metrics_;
  const std::string direction_, target_, route_;
  // Indexed by status for 100-599; slot 0 holds 600-999 (status_code "other",
  // a success), slot 1 anything else ("other", a failure).
  std::array<std::atomic<Counter*>, 600> by_status_{};
};

// The TCP metrics of one (direction, target_service).
struct TcpMetrics {
  TcpMetrics(ProxyMetrics& metrics, Direction direction, const std::string& target);
  Counter& open_total;
  Counter& close_total;
  Gauge& open_connections;
  Counter& read_bytes;
  Counter& write_bytes;
};

// Creates the handles above on first use; safe from any thread. Lookups take
// a lock, so callers cache the pointers they get (they stay valid).
class MetricsCache {
 public:
  explicit MetricsCache(ProxyMetrics& metrics) : metrics_(metrics) {}
  RouteMetrics& route(Direction direction, const std::string& target, const std::string& route);
  TcpMetrics& tcp(Direction direction, const std::string& target);
  ProxyMetrics& metrics() { return metrics_; }

 private:
  ProxyMetrics& metrics_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<RouteMetrics>> routes_;
  std::unordered_map<std::string, std::unique_ptr<TcpMetrics>> tcp_;
};

}  // namespace weft::proxy
