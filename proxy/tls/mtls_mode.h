#pragma once

// What Strict (MeshPolicy.spec.mtls) leaves to plaintext. The mode of a port
// is the pod's compiled policies' (authz::InboundPolicies::mtls_mode, label
// selectors included); checked at accept and again for each request of a
// plaintext HTTP connection, so that a switch to Strict stops the next one.

#include <cstdint>
#include <span>

#include "weft/probe_routes.h"
#include "weft/proxyconfig/document.h"

namespace weft::proxy {

// What an inbound connection that is not a meshed client's mTLS may do.
struct PlaintextInbound {
  enum class Access {
    kServed,      // Permissive: like any connection
    kProbesOnly,  // Strict, HTTP/1 to a port with probes: only those requests
    kRefused,     // Strict otherwise: closed before any byte reaches the app
  };
  Access access = Access::kServed;
  std::span<const ProbeRoute> probes;  // for kProbesOnly: the port's probe routes
};

// Under Strict, the kubelet's plaintext HTTP probes of the app (`probes`, all
// ports, canonical) still reach it, as Linkerd authorizes a pod's probe paths
// for unauthenticated clients; nothing else does. `http1`: detection found
// HTTP/1 (anything else cannot be told apart from the app's traffic).
PlaintextInbound plaintext_inbound(proxyconfig::MtlsMode mode, std::span<const ProbeRoute> probes,
                                   std::uint16_t port, bool http1);

}  // namespace weft::proxy
