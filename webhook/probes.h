#pragma once

// The kubelet's HTTP probes of a pod's app containers, which weft-proxy lets
// through in plaintext under a Strict MeshPolicy (WEFT_PROXY_INBOUND_PROBES,
// lib/weft/probe_routes.h): the httpGet of every livenessProbe, readinessProbe
// and startupProbe of spec.containers and spec.initContainers (a sidecar's
// are probed too), weft-proxy's and weft-init's own excepted. A pure function
// of the pod spec: what a pod author wrote is bounded, never trusted to be
// well-formed, and each probe left out says why.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weft/probe_routes.h"

namespace weft::webhook {

inline constexpr std::size_t kMaxProbeSkipReasons = 8;

struct ProbeScan {
  std::vector<ProbeRoute> routes;  // canonical, at most kMaxProbeRoutes
  // One line per httpGet probe left out, "spec.containers[0].livenessProbe:
  // scheme HTTPS (...)": its requests meet a Strict port's refusal.
  std::vector<std::string> skipped;  // at most kMaxProbeSkipReasons
  std::size_t more_skipped = 0;      // left out beyond those
  bool operator==(const ProbeScan&) const = default;
};

// The probes of `spec` (the pod's spec object; anything else is no probes).
// An httpGet probe counts with scheme HTTP (the default); its port a number
// from 1 to 65535 or the name of one of that container's ports; its path "/"
// when empty, else as probe_target_problem accepts it. tcpSocket, exec and
// grpc probes are not HTTP and need nothing: not looked at.
ProbeScan scan_probes(const nlohmann::json& spec);

}  // namespace weft::webhook
