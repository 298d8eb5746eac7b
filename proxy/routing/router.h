#pragma once

// Request routing, as pure functions over a snapshot: the MeshRoute match of a
// request (the first in precedence order that holds, as the operator sorted
// them: gRPC matches first, docs/crds.md), then a weighted backend of its rule.

#include <cstdint>

#include "proxy/config/snapshot.h"
#include "proxy/request/request.h"

namespace weft::proxy {

struct RouteSelection {
  const proxyconfig::Rule* rule = nullptr;  // null: no MeshRoute on this port
  bool no_match = false;                    // routes exist but none matched: 404
};

RouteSelection select_route(const ServiceTarget& target, const Request& request);

// One backend with probability weight / sum(weights); `random` is uniform.
// Null only if every weight is 0 (the CRD forbids that).
const proxyconfig::Backend* pick_backend(const proxyconfig::Rule& rule, std::uint64_t random);

// What a gRPC match (RouteMatch::grpc) asks of a request besides its path: a
// gRPC content type (the first content-type header decides) and a path of
// the form "/<service>/<method>", two non-empty segments.
bool is_grpc_call(const Request& request);

// Gateway API path prefix: "/api" matches "/api", "/api/" and "/api/x", not "/apix".
bool path_prefix_matches(std::string_view prefix, std::string_view path);

// The value of the first query parameter of that name (exact, case-sensitive;
// no percent-decoding), or nullopt.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

}  // namespace weft::proxy
