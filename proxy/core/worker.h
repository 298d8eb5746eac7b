#pragma once

// What the proxy shares across workers (Runtime) and what each worker owns
// (Worker: its pool of upstream connections, its routing state, its idle
// client connections for a graceful shutdown).

#include <atomic>

#include "proxy/authz/rate_limiter.h"
#include "proxy/authz_metrics.h"
#include "proxy/config/config_store.h"
#include "proxy/core/asio.h"
#include "proxy/core/original_destination.h"
#include "proxy/http2/client.h"
#include "proxy/identity/credentials.h"
#include "proxy/layers/authorization.h"
#include "proxy/layers/connection.h"
#include "proxy/metrics.h"
#include "proxy/routing/worker_routes.h"
#include "proxy/settings.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_metrics.h"
#include "weft/log.h"
#include "weft/log_throttle.h"

namespace weft::proxy {

struct Runtime {
  Runtime(Settings s, ConfigStore& c, MetricsCache& m, Logger& l)
      : settings(std::move(s)), config(c), metrics(m), log(l), tls_metrics(m) {}
  const Settings settings;
  ConfigStore& config;
  MetricsCache& metrics;
  Logger& log;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> open_connections{0};  // client connections, all workers
  // Where inbound traffic may go (set before the listeners start; none: nowhere).
  OwnAddresses own_addresses{{}};
  LogThrottle foreign_destination_log{std::chrono::seconds(1)};
  // The proxy's certificate, key and anchors (the identity client writes
  // them); none: meshed endpoints cannot be reached, mTLS is not accepted.
  CredentialStore credentials;
  TlsMetrics tls_metrics;
  // Authorization and rate limits: series-bounded counters, the buckets
  // every worker shares, the per-client bound on denial log lines.
  AuthzMetrics authz_metrics{metrics.metrics(), settings.max_authz_metric_series};
  authz::RateLimiter rate_limiter{settings.max_rate_limited_clients};
  KeyedLogThrottle denial_log{settings.denial_log_interval, settings.max_denial_log_clients};
  // Resolved once: the request path touches only its atomics.
  const AuthorizationTelemetry authz_telemetry{
      authz_metrics, metrics.metrics().rate_limit_untracked_total.get(), denial_log, log};
};

inline UpstreamPool::Counters pool_counters(ProxyMetrics& metrics) {
  UpstreamPool::Counters counters{};
  for (std::size_t i = 0; i < counters.size(); ++i) {
    counters[i] = &metrics.upstream_pool_closed_total.with_labels(
        {std::string(to_string(static_cast<PoolClose>(i)))});
  }
  return counters;
}

class Worker {
 public:
  Worker(asio::io_context& io, Runtime& runtime)
      : io(io),
        runtime(runtime),
        pool({.max_idle_per_endpoint = runtime.settings.pool_max_idle_per_endpoint,
              .idle_timeout = runtime.settings.pool_idle_timeout},
             pool_counters(runtime.metrics.metrics())),
        routes(runtime.config),
        tls(runtime.credentials, runtime.settings.tls_max_peer_chain_bytes),
        http2(io.get_executor(), runtime.settings, runtime.metrics.metrics()) {
    pool.follow(runtime.config);
    // Once a second: expiry is approximate to that, and a removed endpoint's
    // connections go within it.
    asio::co_spawn(io, maintain_pool(pool, std::chrono::seconds(1)), asio::detached);
  }

  asio::io_context& io;
  Runtime& runtime;
  UpstreamPool pool;
  WorkerRoutes routes;
  TlsContexts tls;           // this worker's SSL_CTXs, per credentials generation
  http2::ClientPools http2;  // HTTP/2 connections to endpoints, many streams each

  // Client connections waiting for their next request, closed at once on
  // drain. An intrusive list: a connection links its own node, so going idle
  // and busy again allocates nothing.
  struct IdleNode {
    Socket* socket = nullptr;
    IdleNode* prev = nullptr;
    IdleNode* next = nullptr;
  };
  void mark_idle(IdleNode& node, Socket& socket) {
    node.socket = &socket;
    node.prev = &idle_;
    node.next = idle_.next;
    if (idle_.next != nullptr) idle_.next->prev = &node;
    idle_.next = &node;
  }
  // Idempotent: also called by a connection's destructor, for a coroutine
  // destroyed (or left by an exception) while it waited for a request.
  void mark_busy(IdleNode& node) {
    if (node.prev != nullptr) node.prev->next = node.next;
    if (node.next != nullptr) node.next->prev = node.prev;
    node.prev = node.next = nullptr;
  }
  // On this worker's thread: close idle client connections and the pool.
  void drain() {
    for (IdleNode* node = idle_.next; node != nullptr; node = node->next) {
      error_code ignored;
      node->socket->cancel(ignored);
    }
    pool.clear();
  }
  bool has_idle() const { return idle_.next != nullptr; }

 private:
  IdleNode idle_;  // list head
};

}  // namespace weft::proxy
