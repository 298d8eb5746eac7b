#pragma once

// The routing layer: where a request goes, decided once before its first
// try. Outbound to a Service port of the configuration: its MeshRoute rule
// (proxy/routing/router.h), the rule's backend Service by weight, and that
// backend's balancer and the route's retry budget. Anything else (inbound, a
// destination the configuration does not know, no document yet) goes to the
// connection's original destination as it is.

#include <memory>
#include <span>
#include <string_view>

#include "proxy/metrics.h"
#include "proxy/request/outcome.h"
#include "proxy/request/request.h"
#include "proxy/routing/worker_routes.h"

namespace weft::proxy {

// The client connection's destination, as its listener and SO_ORIGINAL_DST give it.
struct ConnectionTarget {
  Direction direction = Direction::kOutbound;
  tcp::endpoint destination;  // original destination (or the fallback)
  // Inbound over mTLS: the client's SPIFFE ID (outlives the connection's
  // requests); empty for plaintext.
  std::string_view client_identity{};
  // Inbound: the client's address (authorization's CIDRs, its rate-limit key).
  asio::ip::address client_address{};
};

struct Plan {
  LocalAnswer local;  // status != 0: answer locally (404 no route, 503 unknown backend)
  // Views into the snapshot or the caller's destination text (no copy per request).
  std::string_view target_label;
  std::string_view route_label;
  // With a MeshRoute: the rule's index and the backend Service "name:port"
  // chosen (metrics' route_rule and backend labels); empty without one.
  std::string route_rule_label;
  std::string_view backend_label;
  const proxyconfig::Rule* rule = nullptr;
  std::shared_ptr<const Snapshot> snapshot;  // keeps rule, target and labels alive
  const ServiceTarget* backend = nullptr;    // null: the destination itself
  std::shared_ptr<Balancer> balancer;
  std::shared_ptr<RetryBudget> budget;

  const proxyconfig::Retry* retry() const {
    return rule != nullptr && rule->retry ? &*rule->retry : nullptr;
  }
};

// destination_text ("address:port" of target.destination) labels a request
// that no Service claims; it must outlive the plan.
Plan plan_route(WorkerRoutes& routes, const ConnectionTarget& target,
                std::string_view destination_text, const Request& request);

}  // namespace weft::proxy
