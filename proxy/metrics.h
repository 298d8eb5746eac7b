#pragma once

// Every metric weft-proxy exports, declared in one place (STYLE.md), with the
// label sets the issue asks for: direction (inbound/outbound), target_service
// (the Service "name:port", or the address when none matched) and route (the
// MeshRoute name, "" without one), route_rule and backend (the rule's index
// and the backend Service "name:port" the request was sent to, "" without a
// route: what `weftctl stat route` shows a split by); the HTTP metrics also carry the TLS labels
// of tls_labels.h (tls, no_tls_reason, client_id, server_id). Hot paths
// resolve a RouteMetrics once per (direction, target, route, TLS peer) and
// then only touch atomics.
//
// Series are bounded whatever the traffic: a target the configuration document
// names (metric_target() below) always has its own series, but an address it
// does not know only gets one while fewer than a cap of such "dynamic" targets
// exist; past it, traffic is counted under target_service="other". Dynamic
// targets nobody uses are dropped after an expiry, to make room again. The
// same holds for peer identities within a target: a cap of distinct ones
// (client ids are whatever certificates the anchors vouch for), the rest
// counted as client_id/server_id="other", and unused ones expire.
// tcp_tls_connections_total, which has no target label, bounds its peer
// identities the same way, as one pseudo-target per direction.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/direction.h"
#include "proxy/request/grpc.h"
#include "proxy/tls/tls_labels.h"
#include "weft/metrics.h"

namespace weft::proxy {

// Upper bounds, in milliseconds, of response_latency_ms (the list).
inline const std::vector<double> kLatencyBucketsMs = {
    1,   2,   3,    4,    5,    10,   20,   30,    40,    50,    100,   200,  300,
    400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000};

// response_total's classification, Linkerd's: a 5xx is a failure, any other
// status a success (a 4xx is the server answering as designed, and so are the
// proxy's own 400/404/408/431); an exchange that got no response is a failure,
// which the proxy answers itself with 502, 503 or 504. A number that is not an
// HTTP status (below 100 or above 999) means no response: failure.
enum class Classification { kSuccess, kFailure };
Classification classify(int status);
std::string_view to_string(Classification classification);

// The limits on connections and time whose triggers limit_reached_total counts.
enum class Limit {
  kMaxConnections,
  kBodyIdleTimeout,
  kResponseTimeout,
  kTunnelIdleTimeout,
  kSilentConnectionTimeout,
  kTunnelHalfClosedTimeout,
  // A TLS ClientHello past kMaxClientHelloBytes (proxy/tls/client_hello.h),
  // records included: not terminated, taken for the app's own bytes.
  kClientHelloSize,
  // HTTP/2: a peer that read nothing for --http2-write-timeout while the
  // proxy had bytes for it (the connection cut); a request that found its
  // endpoint's upstream connections at --http2-max-connections-per-endpoint
  // (it waits for a stream to end within its connect limit).
  kHttp2WriteTimeout,
  kHttp2UpstreamConnections,
  // A block nghttp2 freed went back to malloc: its session's cache held
  // --http2-session-cache-bytes already.
  kHttp2SessionCache,
  // HTTP/1: a request the proxy answered itself whose body was longer than
  // --max-discarded-body-bytes (or awaited 100 Continue): the connection
  // closed after the answer instead of reading the body.
  kDiscardedBody
};
inline constexpr std::size_t kLimitCount = 11;
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
  Family<Counter>& tcp_tls_connections_total;
  Counter& inbound_foreign_destination_total;
  Family<Counter>& upstream_pool_closed_total;
  Counter& upstream_retry_on_new_connection_total;
  Family<Counter>& config_reload_total;
  Family<Gauge>& config_last_reload_success_timestamp_seconds;
  Family<Counter>& limit_reached_total;
  Family<Counter>& interim_limit_total;
  Family<Counter>& http1_upgraded_requests_total;
  Family<Counter>& http2_protocol_errors_total;
  Family<Counter>& http2_goaway_sent_total;
  Family<Counter>& http2_stream_reset_total;
  Family<Counter>& grpc_response_total;
  Family<Counter>& metrics_target_folded_total;
  Family<Counter>& metrics_target_expired_total;
  Family<Counter>& metrics_identity_folded_total;
  Family<Gauge>& metrics_dynamic_targets;
  Family<Counter>& admin_request_timeout_total;
  Family<Counter>& admin_forbidden_total;
  Family<Counter>& admin_connections_refused_total;
  // Authorization and rate limits (proxy/authz_metrics.h bounds their series).
  Family<Counter>& inbound_http_authz_allow_total;
  Family<Counter>& inbound_http_authz_deny_total;
  Family<Counter>& inbound_tcp_authz_allow_total;
  Family<Counter>& inbound_tcp_authz_deny_total;
  Family<Counter>& inbound_tcp_authz_terminate_total;
  Family<Counter>& inbound_http_ratelimit_denied_total;
  Family<Counter>& inbound_tcp_ratelimit_denied_total;
  Family<Gauge>& rate_limit_tracked_clients;
  Family<Counter>& rate_limit_untracked_total;
  Family<Counter>& authz_metric_series_folded_total;
  Family<Counter>& pod_labels_reload_total;

 private:
  std::array<std::array<Counter*, kLimitCount>, 2> limit_counters_{};
};

class Snapshot;

// The target_service label of a connection's destination.
struct MetricTarget {
  std::string label;
  // Named by the document (a Service, an endpoint of one, a port an inbound
  // policy covers): a bounded set, never capped nor expired.
  bool known = false;
};

// The label "other": what dynamic targets past the cap are counted under. No
// Service label can be it (they all carry ":port").
inline constexpr std::string_view kOtherTarget = "other";

// "address:port", IPv6 in brackets.
std::string endpoint_label(const tcp::endpoint& endpoint);

// What the document (null: none yet) knows of a destination. Outbound: the
// Service port of a cluster IP. Inbound: the Service port whose endpoint the
// destination is, else a port an inbound policy names (labelled by its
// address). Anything else is dynamic, labelled by its address: opaque ports
// too, since a range of them (1-65535) would otherwise make every port a
// client touches a series of its own.
MetricTarget metric_target(const Snapshot* snapshot, Direction direction,
                           const tcp::endpoint& destination);

// The HTTP metrics of one (direction, target_service, route, route_rule,
// backend, TLS peer). The destructor removes its series from the registry (a
// dynamic target, or a peer identity, that expired).
class RouteMetrics {
 public:
  RouteMetrics(ProxyMetrics& metrics, Direction direction, std::string target, std::string route,
               const TlsPeer& peer = {}, std::string route_rule = {}, std::string backend = {});
  ~RouteMetrics();
  RouteMetrics(const RouteMetrics&) = delete;
  RouteMetrics& operator=(const RouteMetrics&) = delete;

  Counter& requests;
  Histogram& latency_ms;
  Counter& retries;
  Counter& budget_exhausted;
  // response_total for this status, classified by classify(). Lock-free
  // after the first use.
  Counter& response(int status);
  // grpc_response_total for a gRPC response's status (nullopt: it ended
  // without one, a reset), classified by grpc::is_failure. Lock-free after
  // the first use.
  Counter& grpc_response(std::optional<grpc::Status> status);

 private:
  // labels: direction, target_service, route, route_rule, backend, tls,
  // no_tls_reason, client_id, server_id.
  RouteMetrics(ProxyMetrics& metrics, std::vector<std::string> labels);
  std::vector<std::string> labels_with(const std::vector<std::string>& more) const;

  ProxyMetrics& metrics_;
  const std::vector<std::string> labels_;
  // Indexed by status for 100-599; slot 0 holds 600-999 (status_code "other",
  // a success), slot 1 anything else ("other", a failure).
  std::array<std::atomic<Counter*>, 600> by_status_{};
  // By grpc-status 0-16; the last slot: none.
  std::array<std::atomic<Counter*>, grpc::kMaxStatus + 2> by_grpc_status_{};
};

// The TCP metrics of one (direction, target_service); the destructor removes
// its series, as RouteMetrics'.
struct TcpMetrics {
  TcpMetrics(ProxyMetrics& metrics, Direction direction, std::string target);
  ~TcpMetrics();
  TcpMetrics(const TcpMetrics&) = delete;
  TcpMetrics& operator=(const TcpMetrics&) = delete;

  Counter& open_total;
  Counter& close_total;
  Gauge& open_connections;
  Counter& read_bytes;
  Counter& write_bytes;

 private:
  ProxyMetrics& metrics_;
  const std::vector<std::string> labels_;
};

// The labels of tcp_tls_connections_total for a connection to or from `peer`:
// direction, tls, no_tls_reason, client_id, server_id.
std::vector<std::string> tls_connection_labels(Direction direction, const TlsPeer& peer);

// The tcp_tls_connections_total series of one peer identity; the destructor
// removes it (the identity expired).
struct TlsConnectionSeries {
  TlsConnectionSeries(ProxyMetrics& metrics, Direction direction, const TlsPeer& peer);
  ~TlsConnectionSeries();
  TlsConnectionSeries(const TlsConnectionSeries&) = delete;
  TlsConnectionSeries& operator=(const TlsConnectionSeries&) = delete;

  Counter& connections;

 private:
  ProxyMetrics& metrics_;
  const std::vector<std::string> labels_;
};

// The bounds on dynamic targets and peer identities (Settings:
// --metrics-max-dynamic-targets, --metrics-max-identities-per-target,
// --metrics-target-expiry, which applies to both).
struct MetricsLimits {
  std::size_t max_dynamic_targets = 100;
  std::chrono::milliseconds dynamic_target_expiry{600'000};
  std::size_t max_identities_per_target = 100;
};

// Creates the handles above on first use; safe from any thread. Lookups take
// a lock, so callers keep the handles they get: a handle held keeps its
// target from expiring.
class MetricsCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit MetricsCache(ProxyMetrics& metrics, MetricsLimits limits = {});
  // The handles of this target, or of "other" when it is dynamic and the cap
  // is reached (counted in metrics_target_folded_total). A peer identity
  // past the target's cap of them is counted as "other"
  // (metrics_identity_folded_total).
  // `route_rule` and `backend`: the MeshRoute rule's index and the backend
  // Service "name:port" the request went to ("" without a route); both come
  // from the document, so they add no unbounded series.
  std::shared_ptr<RouteMetrics> route(Direction direction, const MetricTarget& target,
                                      const std::string& route, const TlsPeer& peer = {},
                                      std::string_view route_rule = {},
                                      std::string_view backend = {});
  std::shared_ptr<TcpMetrics> tcp(Direction direction, const MetricTarget& target);
  // Counts one mTLS connection with the peer `identity` (not empty) in
  // tcp_tls_connections_total: its own series while fewer than
  // max_identities_per_target identities have one in this direction, else
  // client_id/server_id="other" (metrics_identity_folded_total); an identity
  // with no new connection for the expiry loses its series.
  void count_tls_connection(Direction direction, std::string_view identity);
  // Drops the dynamic targets no handle is held of and unused since
  // now - expiry, with their series; returns how many. The peer identities
  // of every target go the same way (not counted in the result). Also done
  // by lookups that meet a cap (at most once a second) and before each
  // /metrics.
  std::size_t expire(Clock::time_point now = Clock::now());
  std::size_t dynamic_targets();
  // Distinct peer identities with series of their own, over all targets.
  std::size_t identities();
  ProxyMetrics& metrics() { return metrics_; }

 private:
  struct RouteEntry {
    std::shared_ptr<RouteMetrics> metrics;
    // Instead of `metrics`, in the pseudo-target of tcp_tls_connections_total
    // (nobody else holds it: only unused time keeps it).
    std::unique_ptr<TlsConnectionSeries> tls_connections;
    std::string identity;  // the peer identity label ("" when plaintext)
    Clock::time_point last_used;
  };
  struct Target {
    bool dynamic = false;
    Clock::time_point last_used;
    std::shared_ptr<TcpMetrics> tcp;
    // By route '\0' rule '\0' backend '\0' TLS status '\0' identity label.
    std::map<std::string, RouteEntry> routes;
    // Identity labels with series ("other" aside), and how many routes'
    // entries use each.
    std::map<std::string, std::size_t, std::less<>> identities;
  };
  // Under mutex_: the entry for the target, created (or folded) as needed.
  Target& find(Direction direction, const MetricTarget& target, std::string& label,
               Clock::time_point now);
  // Under mutex_: the label `identity` is counted under in `entry`: itself,
  // or "other" past the cap.
  std::string_view identity_label(Direction direction, Target& entry, std::string_view identity,
                                  Clock::time_point now);
  // Under mutex_: a route entry of `entry` now uses the label `identity`.
  void hold_identity(Target& entry, const std::string& identity);
  // Drops `entry`'s peer identities unused since now - expiry.
  void expire_identities(Target& entry, Clock::time_point now);
  std::size_t expire_locked(Clock::time_point now);

  ProxyMetrics& metrics_;
  const MetricsLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, Target> targets_;  // by direction '\0' label
  std::size_t dynamic_ = 0;
  std::size_t identities_ = 0;
  Clock::time_point next_sweep_{};
};

}  // namespace weft::proxy
