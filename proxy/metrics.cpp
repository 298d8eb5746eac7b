#include "proxy/metrics.h"

namespace weft::proxy {

std::string_view to_string(Direction direction) {
  return direction == Direction::kInbound ? "inbound" : "outbound";
}

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
  }
  return "unknown";
}

namespace {
const std::vector<std::string> kRouteLabels = {"direction", "target_service", "route"};
const std::vector<std::string> kTcpLabels = {"direction", "target_service"};
}  // namespace

ProxyMetrics::ProxyMetrics(Registry& r)
    : registry(r),
      request_total(r.counter("request_total", "HTTP requests received.", kRouteLabels)),
      response_total(
          r.counter("response_total", "HTTP responses sent, by status code and class.",
                    {"direction", "target_service", "route", "status_code", "classification"})),
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
                                    {"direction"})) {
  for (const Direction direction : {Direction::kInbound, Direction::kOutbound}) {
    for (std::size_t i = 0; i < kLimitCount; ++i) {
      const auto limit = static_cast<Limit>(i);
      limit_counters_[direction == Direction::kInbound ? 0 : 1][i] =
          &limit_reached_total.with_labels(
              {std::string(to_string(direction)), std::string(to_string(limit))});
    }
  }
}

RouteMetrics::RouteMetrics(ProxyMetrics& metrics, Direction direction, std::string target,
                           std::string route)
    : requests(
          metrics.request_total.with_labels({std::string(to_string(direction)), target, route})),
      latency_ms(metrics.response_latency_ms.with_labels(
          {std::string(to_string(direction)), target, route})),
      retries(metrics.retry_total.with_labels({std::string(to_string(direction)), target, route})),
      budget_exhausted(metrics.retry_budget_exhausted_total.with_labels(
          {std::string(to_string(direction)), target, route})),
      metrics_(metrics),
      direction_(to_string(direction)),
      target_(std::move(target)),
      route_(std::move(route)) {}

Counter& RouteMetrics::response(int status) {
  const bool registered = status >= 100 && status < 600;
  const std::size_t index = registered ? static_cast<std::size_t>(status)
                            : classify(status) == Classification::kSuccess ? 0
                                                                           : 1;
  if (Counter* counter = by_status_[index].load(std::memory_order_acquire)) return *counter;
  const std::string code = registered ? std::to_string(index) : "other";
  Counter& counter = metrics_.response_total.with_labels(
      {direction_, target_, route_, code, std::string(to_string(classify(status)))});
  by_status_[index].store(&counter, std::memory_order_release);
  return counter;
}

TcpMetrics::TcpMetrics(ProxyMetrics& m, Direction direction, const std::string& target)
    : open_total(m.tcp_open_total.with_labels({std::string(to_string(direction)), target})),
      close_total(m.tcp_close_total.with_labels({std::string(to_string(direction)), target})),
      open_connections(
          m.tcp_open_connections.with_labels({std::string(to_string(direction)), target})),
      read_bytes(m.tcp_read_bytes_total.with_labels({std::string(to_string(direction)), target})),
      write_bytes(
          m.tcp_write_bytes_total.with_labels({std::string(to_string(direction)), target})) {}

RouteMetrics& MetricsCache::route(Direction direction, const std::string& target,
                                  const std::string& route) {
  std::string key = std::string(to_string(direction)) + '\0' + target + '\0' + route;
  std::lock_guard lock(mutex_);
  auto& slot = routes_[key];
  if (!slot) slot = std::make_unique<RouteMetrics>(metrics_, direction, target, route);
  return *slot;
}

TcpMetrics& MetricsCache::tcp(Direction direction, const std::string& target) {
  std::string key = std::string(to_string(direction)) + '\0' + target;
  std::lock_guard lock(mutex_);
  auto& slot = tcp_[key];
  if (!slot) slot = std::make_unique<TcpMetrics>(metrics_, direction, target);
  return *slot;
}

}  // namespace weft::proxy
