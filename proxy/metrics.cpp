#include "proxy/metrics.h"

#include <algorithm>

#include "proxy/config/snapshot.h"

namespace weft::proxy {

Classification classify(int status) {
  const bool server_error = status >= 500 && status <= 599;
  const bool not_a_status = status < 100 || status > 999;
  return server_error || not_a_status ? Classification::kFailure : Classification::kSuccess;
}

std::string_view to_string(Classification classification) {
  return classification == Classification::kFailure ? "failure" : "success";
}

std::string_view to_string(Limit limit) {
  switch (limit) {
    case Limit::kMaxConnections:
      return "max_connections";
    case Limit::kBodyIdleTimeout:
      return "body_idle_timeout";
    case Limit::kResponseTimeout:
      return "response_timeout";
    case Limit::kTunnelIdleTimeout:
      return "tunnel_idle_timeout";
    case Limit::kSilentConnectionTimeout:
      return "silent_connection_timeout";
    case Limit::kTunnelHalfClosedTimeout:
      return "tunnel_half_closed_timeout";
    case Limit::kClientHelloSize:
      return "client_hello_size";
    case Limit::kHttp2WriteTimeout:
      return "http2_write_timeout";
    case Limit::kHttp2UpstreamConnections:
      return "http2_upstream_connections";
    case Limit::kHttp2SessionCache:
      return "http2_session_cache";
    case Limit::kDiscardedBody:
      return "discarded_body";
  }
  return "unknown";
}

namespace {
const std::vector<std::string> kRouteLabels = {"direction",     "target_service", "route",
                                               "route_rule",    "backend",        "tls",
                                               "no_tls_reason", "client_id",      "server_id"};
const std::vector<std::string> kTcpLabels = {"direction", "target_service"};
}  // namespace

ProxyMetrics::ProxyMetrics(Registry& r)
    : registry(r),
      request_total(r.counter("request_total", "HTTP requests received.", kRouteLabels)),
      response_total(
          r.counter("response_total", "HTTP responses sent, by status code and class.",
                    {"direction", "target_service", "route", "route_rule", "backend", "tls",
                     "no_tls_reason", "client_id", "server_id", "status_code", "classification"})),
      response_latency_ms(r.histogram("response_latency_ms",
                                      "Time from a request's head to its response's head, in "
                                      "milliseconds, retries included.",
                                      kLatencyBucketsMs, kRouteLabels)),
      retry_total(r.counter("retry_total", "Retries sent.", kRouteLabels)),
      retry_budget_exhausted_total(r.counter("retry_budget_exhausted_total",
                                             "Retries not sent because the budget was spent.",
                                             kRouteLabels)),
      tcp_open_total(r.counter("tcp_open_total", "TCP connections accepted.", kTcpLabels)),
      tcp_close_total(r.counter("tcp_close_total", "TCP connections closed.", kTcpLabels)),
      tcp_open_connections(
          r.gauge("tcp_open_connections", "TCP connections open now.", kTcpLabels)),
      tcp_read_bytes_total(
          r.counter("tcp_read_bytes_total", "Bytes read from clients.", kTcpLabels)),
      tcp_write_bytes_total(
          r.counter("tcp_write_bytes_total", "Bytes written to clients.", kTcpLabels)),
      protocol_detect_total(r.counter("protocol_detect_total",
                                      "Accepted connections by detected protocol.",
                                      {"direction", "protocol"})),
      tcp_tls_connections_total(r.counter(
          "tcp_tls_connections_total",
          "Connections by TLS status: tls=\"true\" with the peer's identity (client_id inbound, "
          "server_id outbound; \"other\" past --metrics-max-identities-per-target of them), or "
          "tls=\"no_identity\" with no_tls_reason.",
          {"direction", "tls", "no_tls_reason", "client_id", "server_id"})),
      inbound_foreign_destination_total(
          r.counter("inbound_foreign_destination_total",
                    "Inbound connections refused: their original destination is not one of "
                    "the pod's addresses.")
              .with_labels({})),
      upstream_pool_closed_total(
          r.counter("upstream_pool_closed_total",
                    "Idle upstream connections closed instead of reused, by reason (idle_expired, "
                    "over_cap, endpoint_removed, closed_by_server, stray_bytes).",
                    {"reason"})),
      upstream_retry_on_new_connection_total(
          r.counter("upstream_retry_on_new_connection_total",
                    "Requests sent again on a new connection after a reused one failed before "
                    "any byte of the response.")
              .with_labels({})),
      config_reload_total(r.counter("config_reload_total",
                                    "Configuration documents seen, by source and result "
                                    "(accepted, refused, unchanged, superseded).",
                                    {"source", "result"})),
      config_last_reload_success_timestamp_seconds(
          r.gauge("config_last_reload_success_timestamp_seconds",
                  "Unix time of the last accepted configuration document.")),
      limit_reached_total(r.counter("limit_reached_total",
                                    "Connections refused, or cut, by a limit on connections or "
                                    "time.",
                                    {"direction", "limit"})),
      interim_limit_total(r.counter("interim_limit_total",
                                    "Requests answered 502 because the upstream sent more "
                                    "interim (1xx) responses than --max-interim-responses.",
                                    {"direction"})),
      http1_upgraded_requests_total(r.counter(
          "http1_upgraded_requests_total",
          "HTTP/1.1 requests carried between two proxies as HTTP/2 streams (outbound: sent "
          "so; inbound: received so and sent to the app as HTTP/1.1).",
          {"direction"})),
      http2_protocol_errors_total(r.counter(
          "http2_protocol_errors_total",
          "HTTP/2 frames or connections refused for breaking the protocol or a flood limit "
          "(side: server towards clients, client towards endpoints).",
          {"direction", "side"})),
      http2_goaway_sent_total(r.counter("http2_goaway_sent_total",
                                        "HTTP/2 GOAWAY frames sent to clients, by reason: "
                                        "drain, idle, or the client's fault that ended the "
                                        "connection (rapid_reset, flood, continuation_flood, "
                                        "protocol_error).",
                                        {"direction", "reason"})),
      http2_stream_reset_total(
          r.counter("http2_stream_reset_total",
                    "HTTP/2 streams the proxy reset because a limit was reached, by limit.",
                    {"direction", "limit"})),
      grpc_response_total(r.counter(
          "grpc_response_total",
          "gRPC responses (requests with content-type application/grpc) by grpc-status "
          "(\"\": none, the stream ended without one) and Linkerd's classification: failure "
          "unless the status is 0 (OK).",
          {"direction", "target_service", "route", "route_rule", "backend", "tls", "no_tls_reason",
           "client_id", "server_id", "grpc_status", "classification"})),
      metrics_target_folded_total(
          r.counter("metrics_target_folded_total",
                    "Connections and requests to an address the configuration does not name, "
                    "counted under target_service=\"other\" because the cap on such targets "
                    "was reached.",
                    {"direction"})),
      metrics_target_expired_total(
          r.counter("metrics_target_expired_total",
                    "Targets the configuration does not name whose series were dropped, unused.",
                    {"direction"})),
      metrics_identity_folded_total(
          r.counter("metrics_identity_folded_total",
                    "Connections and requests counted under client_id or server_id=\"other\" "
                    "because their target already had --metrics-max-identities-per-target peer "
                    "identities with series.",
                    {"direction"})),
      metrics_dynamic_targets(
          r.gauge("metrics_dynamic_targets",
                  "Targets the configuration does not name that have their own series now.")),
      admin_request_timeout_total(
          r.counter("admin_request_timeout_total",
                    "Admin connections closed because a request did not arrive and get its "
                    "answer within --admin-request-timeout.")),
      admin_forbidden_total(r.counter(
          "admin_forbidden_total",
          "Admin requests refused because the path is served on loopback only.", {"path"})),
      admin_connections_refused_total(
          r.counter("admin_connections_refused_total",
                    "Admin connections reset at once because --max-admin-connections were "
                    "open.")),
      inbound_http_authz_allow_total(
          r.counter("inbound_http_authz_allow_total",
                    "Inbound HTTP requests authorized, by the MeshPolicy (or default:<policy>, "
                    "or probe) and rule that allowed them.",
                    {"policy", "rule"})),
      inbound_http_authz_deny_total(
          r.counter("inbound_http_authz_deny_total",
                    "Inbound HTTP requests refused (403), by the MeshPolicy and rule that decided.",
                    {"policy", "rule"})),
      inbound_tcp_authz_allow_total(
          r.counter("inbound_tcp_authz_allow_total",
                    "Inbound opaque TCP connections authorized, by MeshPolicy and rule.",
                    {"policy", "rule"})),
      inbound_tcp_authz_deny_total(
          r.counter("inbound_tcp_authz_deny_total",
                    "Inbound opaque TCP connections refused (closed before any byte reached "
                    "the app), by MeshPolicy and rule.",
                    {"policy", "rule"})),
      inbound_tcp_authz_terminate_total(
          r.counter("inbound_tcp_authz_terminate_total",
                    "Open inbound opaque TCP connections closed because a newer configuration "
                    "(policies, pod labels) no longer allows them.",
                    {"policy", "rule"})),
      inbound_http_ratelimit_denied_total(r.counter(
          "inbound_http_ratelimit_denied_total",
          "Inbound HTTP requests refused (429) by a MeshPolicy's rate limit.", {"policy"})),
      inbound_tcp_ratelimit_denied_total(r.counter(
          "inbound_tcp_ratelimit_denied_total",
          "Inbound opaque TCP connections refused by a MeshPolicy's rate limit.", {"policy"})),
      rate_limit_tracked_clients(
          r.gauge("rate_limit_tracked_clients",
                  "Rate-limit buckets (policy, client) kept now (updated every 10 s).")),
      rate_limit_untracked_total(
          r.counter("rate_limit_untracked_total",
                    "Requests and connections refused by a rate limit because "
                    "--max-rate-limited-clients buckets existed (the client got none).")),
      authz_metric_series_folded_total(
          r.counter("authz_metric_series_folded_total",
                    "Authorization and rate-limit counts made under policy=\"other\" because "
                    "--max-authz-metric-series series existed.")),
      pod_labels_reload_total(r.counter("pod_labels_reload_total",
                                        "Reads of the pod's labels file, by result (ok, error: "
                                        "the last good labels kept).",
                                        {"result"})) {
  for (const Direction direction : {Direction::kInbound, Direction::kOutbound}) {
    for (std::size_t i = 0; i < kLimitCount; ++i) {
      const auto limit = static_cast<Limit>(i);
      limit_counters_[direction == Direction::kInbound ? 0 : 1][i] =
          &limit_reached_total.with_labels(
              {std::string(to_string(direction)), std::string(to_string(limit))});
    }
  }
}

std::string endpoint_label(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

MetricTarget metric_target(const Snapshot* snapshot, Direction direction,
                           const tcp::endpoint& destination) {
  const std::uint16_t port = destination.port();
  if (snapshot != nullptr) {
    const ServiceTarget* service = direction == Direction::kOutbound
                                       ? snapshot->find_by_destination(destination)
                                       : snapshot->find_by_endpoint(destination);
    if (service != nullptr) return {service->label, true};
    if (direction == Direction::kOutbound) {
      if (const OtherNamespaceTarget* other = snapshot->find_other_namespace(destination)) {
        return {other->label, true};
      }
    }
  }
  bool known = false;
  if (snapshot != nullptr && direction == Direction::kInbound) {
    for (const auto& policy : snapshot->document().inbound.policies) {
      // (An empty list covers every port: it names none.)
      if (std::binary_search(policy.ports.begin(), policy.ports.end(), port)) known = true;
    }
  }
  return {endpoint_label(destination), known};
}

namespace {

std::vector<std::string> route_labels(Direction direction, std::string target, std::string route,
                                      const TlsPeer& peer, std::string route_rule,
                                      std::string backend) {
  const TlsLabelValues tls = tls_label_values(direction, peer);
  return {std::string(to_string(direction)),
          std::move(target),
          std::move(route),
          std::move(route_rule),
          std::move(backend),
          std::string(tls.tls),
          std::string(tls.no_tls_reason),
          std::string(tls.client_id),
          std::string(tls.server_id)};
}

}  // namespace

RouteMetrics::RouteMetrics(ProxyMetrics& metrics, Direction direction, std::string target,
                           std::string route, const TlsPeer& peer, std::string route_rule,
                           std::string backend)
    : RouteMetrics(metrics, route_labels(direction, std::move(target), std::move(route), peer,
                                         std::move(route_rule), std::move(backend))) {}

RouteMetrics::RouteMetrics(ProxyMetrics& metrics, std::vector<std::string> labels)
    : requests(metrics.request_total.with_labels(labels)),
      latency_ms(metrics.response_latency_ms.with_labels(labels)),
      retries(metrics.retry_total.with_labels(labels)),
      budget_exhausted(metrics.retry_budget_exhausted_total.with_labels(labels)),
      metrics_(metrics),
      labels_(std::move(labels)) {}

RouteMetrics::~RouteMetrics() {
  metrics_.request_total.remove(labels_);
  metrics_.response_latency_ms.remove(labels_);
  metrics_.retry_total.remove(labels_);
  metrics_.retry_budget_exhausted_total.remove(labels_);
  for (std::size_t index = 0; index < by_status_.size(); ++index) {
    if (by_status_[index].load(std::memory_order_relaxed) == nullptr) continue;
    const bool registered = index >= 100;
    const int status = registered ? static_cast<int>(index) : index == 0 ? 600 : 0;
    metrics_.response_total.remove(labels_with(
        {registered ? std::to_string(index) : "other", std::string(to_string(classify(status)))}));
  }
  for (std::size_t index = 0; index < by_grpc_status_.size(); ++index) {
    if (by_grpc_status_[index].load(std::memory_order_relaxed) == nullptr) continue;
    const std::optional<grpc::Status> status =
        index <= grpc::kMaxStatus ? std::optional(static_cast<grpc::Status>(index)) : std::nullopt;
    metrics_.grpc_response_total.remove(
        labels_with({status ? std::string(grpc::status_text(*status)) : std::string(),
                     std::string(to_string(grpc::is_failure(status) ? Classification::kFailure
                                                                    : Classification::kSuccess))}));
  }
}

std::vector<std::string> RouteMetrics::labels_with(const std::vector<std::string>& more) const {
  std::vector<std::string> labels = labels_;
  labels.insert(labels.end(), more.begin(), more.end());
  return labels;
}

Counter& RouteMetrics::response(int status) {
  const bool registered = status >= 100 && status < 600;
  const std::size_t index = registered ? static_cast<std::size_t>(status)
                            : classify(status) == Classification::kSuccess ? 0
                                                                           : 1;
  if (Counter* counter = by_status_[index].load(std::memory_order_acquire)) return *counter;
  const std::string code = registered ? std::to_string(index) : "other";
  Counter& counter = metrics_.response_total.with_labels(
      labels_with({code, std::string(to_string(classify(status)))}));
  by_status_[index].store(&counter, std::memory_order_release);
  return counter;
}

Counter& RouteMetrics::grpc_response(std::optional<grpc::Status> status) {
  const std::size_t index =
      status ? static_cast<std::size_t>(*status) : static_cast<std::size_t>(grpc::kMaxStatus + 1);
  if (Counter* counter = by_grpc_status_[index].load(std::memory_order_acquire)) return *counter;
  const bool failure = grpc::is_failure(status);
  Counter& counter = metrics_.grpc_response_total.with_labels(labels_with(
      {status ? std::string(grpc::status_text(*status)) : std::string(),
       std::string(to_string(failure ? Classification::kFailure : Classification::kSuccess))}));
  by_grpc_status_[index].store(&counter, std::memory_order_release);
  return counter;
}

TcpMetrics::TcpMetrics(ProxyMetrics& m, Direction direction, std::string target)
    : open_total(m.tcp_open_total.with_labels({std::string(to_string(direction)), target})),
      close_total(m.tcp_close_total.with_labels({std::string(to_string(direction)), target})),
      open_connections(
          m.tcp_open_connections.with_labels({std::string(to_string(direction)), target})),
      read_bytes(m.tcp_read_bytes_total.with_labels({std::string(to_string(direction)), target})),
      write_bytes(m.tcp_write_bytes_total.with_labels({std::string(to_string(direction)), target})),
      metrics_(m),
      labels_({std::string(to_string(direction)), std::move(target)}) {}

TcpMetrics::~TcpMetrics() {
  metrics_.tcp_open_total.remove(labels_);
  metrics_.tcp_close_total.remove(labels_);
  metrics_.tcp_open_connections.remove(labels_);
  metrics_.tcp_read_bytes_total.remove(labels_);
  metrics_.tcp_write_bytes_total.remove(labels_);
}

std::vector<std::string> tls_connection_labels(Direction direction, const TlsPeer& peer) {
  const TlsLabelValues tls = tls_label_values(direction, peer);
  return {std::string(to_string(direction)), std::string(tls.tls), std::string(tls.no_tls_reason),
          std::string(tls.client_id), std::string(tls.server_id)};
}

TlsConnectionSeries::TlsConnectionSeries(ProxyMetrics& metrics, Direction direction,
                                         const TlsPeer& peer)
    : connections(
          metrics.tcp_tls_connections_total.with_labels(tls_connection_labels(direction, peer))),
      metrics_(metrics),
      labels_(tls_connection_labels(direction, peer)) {}

TlsConnectionSeries::~TlsConnectionSeries() {
  metrics_.tcp_tls_connections_total.remove(labels_);
}

namespace {
// The target label of tcp_tls_connections_total's identities: no real one
// (they all carry ":port", or are "other").
constexpr std::string_view kTlsConnectionsTarget = "tcp_tls_connections_total";
}  // namespace

MetricsCache::MetricsCache(ProxyMetrics& metrics, MetricsLimits limits)
    : metrics_(metrics), limits_(limits) {}

MetricsCache::Target& MetricsCache::find(Direction direction, const MetricTarget& target,
                                         std::string& label, Clock::time_point now) {
  std::string key = std::string(to_string(direction)) + '\0' + target.label;
  auto found = targets_.find(key);
  if (found == targets_.end() && !target.known && dynamic_ >= limits_.max_dynamic_targets &&
      now >= next_sweep_) {
    // At the cap: make room from unused targets first, at most once a second
    // so a scan past the cap costs a hash lookup per connection, no sweep.
    next_sweep_ = now + std::chrono::seconds(1);
    expire_locked(now);
  }
  if (found == targets_.end() && !target.known && dynamic_ >= limits_.max_dynamic_targets) {
    metrics_.metrics_target_folded_total.with_labels({std::string(to_string(direction))}).inc();
    key = std::string(to_string(direction)) + '\0' + std::string(kOtherTarget);
    label = kOtherTarget;
    found = targets_.find(key);
  } else {
    label = target.label;
  }
  if (found == targets_.end()) {
    found = targets_.emplace(std::move(key), Target{}).first;
    if (!target.known && label != kOtherTarget) {
      found->second.dynamic = true;
      ++dynamic_;
      metrics_.metrics_dynamic_targets.get().set(static_cast<double>(dynamic_));
    }
  }
  found->second.last_used = now;
  return found->second;
}

std::string_view MetricsCache::identity_label(Direction direction, Target& entry,
                                              std::string_view identity, Clock::time_point now) {
  if (entry.identities.contains(identity)) return identity;
  if (entry.identities.size() >= limits_.max_identities_per_target && now >= next_sweep_) {
    // At the cap: make room from this target's unused identities first, at
    // most once a second (as for targets).
    next_sweep_ = now + std::chrono::seconds(1);
    expire_identities(entry, now);
  }
  if (entry.identities.size() < limits_.max_identities_per_target) return identity;
  metrics_.metrics_identity_folded_total.with_labels({std::string(to_string(direction))}).inc();
  return kOtherTarget;
}

std::shared_ptr<RouteMetrics> MetricsCache::route(Direction direction, const MetricTarget& target,
                                                  const std::string& route, const TlsPeer& peer,
                                                  std::string_view route_rule,
                                                  std::string_view backend) {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = Clock::now();
  std::string label;
  Target& entry = find(direction, target, label, now);
  TlsPeer counted = peer;
  if (peer.status != PeerTls::kMutual) {
    counted.identity = {};
  } else {
    counted.identity = identity_label(direction, entry, peer.identity, now);
  }
  std::string key = route;
  key += '\0';
  key += route_rule;
  key += '\0';
  key += backend;
  key += '\0';
  key += static_cast<char>('0' + static_cast<int>(counted.status));
  key += '\0';
  key += counted.identity;
  const auto [found, added] = entry.routes.try_emplace(std::move(key));
  RouteEntry& slot = found->second;
  if (added) {
    slot.identity = std::string(counted.identity);
    hold_identity(entry, slot.identity);
    counted.identity = slot.identity;  // (the caller's view may not outlive the handle)
    slot.metrics = std::make_shared<RouteMetrics>(metrics_, direction, label, route, counted,
                                                  std::string(route_rule), std::string(backend));
  }
  slot.last_used = now;
  return slot.metrics;
}

void MetricsCache::hold_identity(Target& entry, const std::string& identity) {
  // ("other" holds no place under the cap: it is where the cap sends the rest.)
  if (!identity.empty() && identity != kOtherTarget && entry.identities[identity]++ == 0) {
    ++identities_;
  }
}

void MetricsCache::count_tls_connection(Direction direction, std::string_view identity) {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = Clock::now();
  std::string label;
  Target& entry = find(direction, {std::string(kTlsConnectionsTarget), true}, label, now);
  const std::string_view counted = identity_label(direction, entry, identity, now);
  const auto [found, added] = entry.routes.try_emplace(std::string(counted));
  RouteEntry& slot = found->second;
  if (added) {
    slot.identity = std::string(counted);
    hold_identity(entry, slot.identity);
    slot.tls_connections = std::make_unique<TlsConnectionSeries>(
        metrics_, direction, TlsPeer{.status = PeerTls::kMutual, .identity = slot.identity});
  }
  slot.last_used = now;
  slot.tls_connections->connections.inc();
}

std::shared_ptr<TcpMetrics> MetricsCache::tcp(Direction direction, const MetricTarget& target) {
  std::lock_guard lock(mutex_);
  std::string label;
  Target& entry = find(direction, target, label, Clock::now());
  if (!entry.tcp) entry.tcp = std::make_shared<TcpMetrics>(metrics_, direction, label);
  return entry.tcp;
}

std::size_t MetricsCache::expire(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return expire_locked(now);
}

namespace {
bool held(const auto& handle) {
  return handle && handle.use_count() > 1;
}
}  // namespace

void MetricsCache::expire_identities(Target& entry, Clock::time_point now) {
  for (auto it = entry.routes.begin(); it != entry.routes.end();) {
    RouteEntry& route = it->second;
    if (route.identity.empty()) {
      ++it;
      continue;
    }
    if (held(route.metrics)) route.last_used = now;
    if (now - route.last_used < limits_.dynamic_target_expiry) {
      ++it;
      continue;
    }
    const auto identity = entry.identities.find(route.identity);
    if (identity != entry.identities.end() && --identity->second == 0) {
      entry.identities.erase(identity);
      --identities_;
    }
    it = entry.routes.erase(it);  // (its series go with the handle)
  }
}

std::size_t MetricsCache::expire_locked(Clock::time_point now) {
  std::size_t expired = 0;
  for (auto it = targets_.begin(); it != targets_.end();) {
    Target& entry = it->second;
    expire_identities(entry, now);
    const bool in_use = held(entry.tcp) ||
                        std::any_of(entry.routes.begin(), entry.routes.end(),
                                    [&](const auto& route) { return held(route.second.metrics); });
    // Seen in use: its idle time starts now, so a long connection's last
    // counts stay visible for a whole expiry after it closes.
    if (in_use) entry.last_used = now;
    if (!entry.dynamic || in_use || now - entry.last_used < limits_.dynamic_target_expiry) {
      ++it;
      continue;
    }
    const std::string_view direction(it->first.data(), it->first.find('\0'));
    metrics_.metrics_target_expired_total.with_labels({std::string(direction)}).inc();
    identities_ -= entry.identities.size();
    it = targets_.erase(it);
    --dynamic_;
    ++expired;
  }
  metrics_.metrics_dynamic_targets.get().set(static_cast<double>(dynamic_));
  return expired;
}

std::size_t MetricsCache::dynamic_targets() {
  std::lock_guard lock(mutex_);
  return dynamic_;
}

std::size_t MetricsCache::identities() {
  std::lock_guard lock(mutex_);
  return identities_;
}

}  // namespace weft::proxy
