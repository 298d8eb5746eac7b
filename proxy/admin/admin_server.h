#pragma once

// The admin port: GET /live (the process runs), /ready (listeners bound and
// not shutting down), /metrics (Prometheus text) and /config (the document in
// use, read-only). Nothing here can stop or reconfigure the proxy: other
// methods get 405, other paths 404.

#include <atomic>
#include <functional>
#include <string>

#include "proxy/config/config_store.h"
#include "proxy/core/asio.h"
#include "weft/metrics.h"

namespace weft::proxy {

struct AdminState {
  ConfigStore& config;
  Registry& registry;
  std::atomic<bool>& ready;
};

// Serves one admin connection (keep-alive) on the accepting worker.
void serve_admin_connection(const AdminState& state, Socket socket);

// The response bytes for one request, for tests.
std::string admin_response(const AdminState& state, std::string_view method, std::string_view path,
                           bool close);

}  // namespace weft::proxy
