#pragma once

// The admin port: GET /live (the process runs), /ready (listeners bound, not
// shutting down, and a certificate held when identity is on), /metrics (Prometheus text), /version
// (the proxy's version and the hash of the document it serves) and /config (the document in use,
// read-only). Nothing here can stop or reconfigure the proxy: other methods get 405, other paths
// 404.
//
// /config holds the whole namespace's document, so it is answered only on
// loopback (the pod itself, `kubectl port-forward`, `kubectl exec`); on the pod
// IP it is 403. The rest stays reachable where the kubelet, Prometheus and the
// API server's pod proxy come from. The port runs on its own thread, apart
// from the traffic workers (main.cpp), so a /metrics render never delays
// traffic; each request must arrive and be answered within a whole-request
// limit, so a client trickling bytes cannot hold a connection.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "proxy/config/config_store.h"
#include "proxy/core/asio.h"
#include "proxy/core/listener.h"
#include "proxy/metrics.h"
#include "weft/metrics.h"

namespace weft::proxy {

struct AdminState {
  ConfigStore& config;
  Registry& registry;
  std::atomic<bool>& ready;
  ProxyMetrics& metrics;
  MetricsCache* cache = nullptr;  // its unused dynamic targets expire before each /metrics
  std::chrono::milliseconds request_timeout{10'000};  // --admin-request-timeout
  // A further condition of /ready: empty while met, else why not (the
  // identity client: no valid certificate yet). Unset: none.
  std::function<std::string()> not_ready_reason{};
};

// Where an admin connection arrived: the paths it may see depend on it.
enum class AdminCaller { kLoopback, kNetwork };

// kLoopback when the connection's local address is a loopback one (the
// kernel never delivers such a packet from another host or pod).
AdminCaller admin_caller(const tcp::endpoint& local);

// The proxy's version, as /version reports it ("v" and the project version).
std::string_view proxy_version();

// Serves one admin connection (keep-alive) on the socket's executor; its
// place under the listener's cap is given back when it ends.
void serve_admin_connection(const AdminState& state, Socket socket, ConnectionSlot slot);

// The response bytes for one request, for tests.
std::string admin_response(const AdminState& state, std::string_view method, std::string_view path,
                           bool close, AdminCaller caller);

}  // namespace weft::proxy
