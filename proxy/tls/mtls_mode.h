#pragma once

// Which MeshPolicy.spec.mtls mode holds for an inbound port: the first policy
// (in the document's precedence order) that selects the pod, covers the port
// and sets mtls; Permissive when none does. The proxy does not know its pod's
// labels yet, so only policies whose podSelector is empty (every pod of the
// namespace) are taken to select it; one with labels is skipped (and so not
// enforced: docs/identity.md).

#include <cstdint>
#include <span>

#include "weft/probe_routes.h"
#include "weft/proxyconfig/document.h"

namespace weft::proxy {

proxyconfig::MtlsMode inbound_mtls_mode(const proxyconfig::Document& document, std::uint16_t port);

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
