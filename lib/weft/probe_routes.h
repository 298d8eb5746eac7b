#pragma once

// The kubelet's HTTP probes of a pod's app containers, as the webhook hands
// them to weft-proxy (WEFT_PROXY_INBOUND_PROBES) so that a Strict MeshPolicy
// still lets them through in plaintext: one parser and formatter, shared, so
// that every list the webhook writes is one the proxy accepts.
//
// The text is space-separated PORT + TARGET items, "8080/healthz 8081/ready?x=1":
// a target is the request target the kubelet sends (path, then '?' and the
// query if any). A space never appears in a request target, so the list is
// unambiguous while paths keep their commas.

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.h"

namespace weft {

// The injected proxy's variable for the list (--inbound-probes).
inline constexpr std::string_view kEnvInboundProbes = "WEFT_PROXY_INBOUND_PROBES";

// A route's target is split into path and query once, when it is made: the
// admission layer compares them with every plaintext request under Strict.
// (To change a target, make a new route: the split follows the constructor.)
struct ProbeRoute {
  ProbeRoute() = default;
  ProbeRoute(std::uint16_t port, std::string target);

  std::uint16_t port = 0;
  std::string target;  // "/ready?x=1"

  // "/ready" of "/ready?x=1".
  std::string_view path() const { return std::string_view(target).substr(0, path_size_); }
  // "x=1" of "/ready?x=1"; "" when the target has no '?' (a request must then
  // carry no query either).
  std::string_view query() const {
    return path_size_ < target.size() ? std::string_view(target).substr(path_size_ + 1)
                                      : std::string_view();
  }

  // Ordered and compared by port then target (the split follows from them).
  std::strong_ordering operator<=>(const ProbeRoute& other) const {
    if (const auto by_port = port <=> other.port; by_port != 0) return by_port;
    return target.compare(other.target) <=> 0;
  }
  bool operator==(const ProbeRoute& other) const {
    return port == other.port && target == other.target;
  }

 private:
  std::size_t path_size_ = 0;  // bytes before the first '?' (all when none)
};

// Bounds on what a pod author's probes can make the proxy hold and compare:
// routes in one list, and bytes in one target.
inline constexpr std::size_t kMaxProbeRoutes = 32;
inline constexpr std::size_t kMaxProbeTargetBytes = 256;

// Why `target` cannot be matched literally against what the kubelet sends, or
// nullopt when it can: it starts with '/', fits kMaxProbeTargetBytes, and holds
// only characters a request target carries as they are (RFC 3986 unreserved,
// sub-delimiters, ':', '@', '/', '[', ']', '?' after the path, and '%' with two
// hex digits, but not an encoded '/' or '\' in the path, which weft-proxy
// refuses in any request). Anything else the kubelet's HTTP client would
// re-encode or refuse.
std::optional<std::string> probe_target_problem(std::string_view target);

// Sorted by port then target, duplicates removed: the canonical order both
// the webhook's text and the proxy's lookups use.
std::vector<ProbeRoute> canonical_probe_routes(std::vector<ProbeRoute> routes);

// "8080/healthz 8081/ready?x=1" ("" for none), for canonical routes.
std::string format_probe_routes(std::span<const ProbeRoute> routes);

// The canonical routes of a list, or an Error quoting the bad item: a port that
// is not 1-65535, a target probe_target_problem refuses, an item listed twice,
// an empty item (two spaces), or more than kMaxProbeRoutes items. "" is none.
Result<std::vector<ProbeRoute>> parse_probe_routes(std::string_view text);

// The routes of one port, within canonical routes.
std::span<const ProbeRoute> probe_routes_of_port(std::span<const ProbeRoute> routes,
                                                 std::uint16_t port);

}  // namespace weft
