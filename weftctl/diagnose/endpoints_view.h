#pragma once

// `diagnose endpoints SERVICE[:PORT]`: what the namespace's proxies balance
// a Service port's requests over, read from the namespace's document as the
// proxies read it: each rule's backends with their weights, each backend's
// endpoints with their identity (meshed: mTLS to it) and share, the
// balancer and the circuit breaker. Pure.
//
// The proxies export no per-endpoint state (ejections are per proxy and
// per worker, not in /metrics), so the live state is not shown; see the
// proxies' retry_total and response_total for what failures they met.

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "weft/proxyconfig/document.h"
#include "weft/result.h"

namespace weft::ctl::diagnose {

struct EndpointRow {
  std::string address{};  // "10.0.0.5:8080"
  std::string pod{};
  std::string zone{};
  std::string identity{};  // "" when not meshed (plaintext)
  // Of the port's requests (through its rule's weights, then spread evenly
  // over the backend's endpoints, as the balancer does on average).
  double share = 0;
};

struct BackendRow {
  std::string route{};  // "" without a MeshRoute: the port's own endpoints
  std::optional<std::uint32_t> rule{};
  std::string service{};  // "backend-v1:8080"
  std::uint32_t weight = 1;
  double weight_share = 1;  // of the rule's weights
  std::string load_balancer{};
  std::string circuit_breaker{};  // "5 failures, 30s..5m" or "none"
  std::vector<EndpointRow> endpoints{};
};

struct EndpointsView {
  std::string ns{};
  std::string service{};  // "backend:8080"
  std::vector<BackendRow> backends{};
};

// SERVICE or SERVICE:PORT (the Service port, not the target port); a Service
// with one port may leave it out.
Result<std::vector<EndpointsView>> endpoints_view(const proxyconfig::Document& document,
                                                  std::string_view target);

nlohmann::json endpoints_json(const std::vector<EndpointsView>& views);
void render_endpoints(const std::vector<EndpointsView>& views, std::ostream& out);

}  // namespace weft::ctl::diagnose
