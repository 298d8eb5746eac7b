#include "proxy/tls/mtls_mode.h"

#include <algorithm>

namespace weft::proxy {

proxyconfig::MtlsMode inbound_mtls_mode(const proxyconfig::Document& document, std::uint16_t port) {
  for (const proxyconfig::InboundPolicy& policy : document.inbound.policies) {
    if (!policy.mtls) continue;
    if (policy.pod_selector != proxyconfig::LabelSelector{}) continue;
    if (!policy.ports.empty() &&
        !std::binary_search(policy.ports.begin(), policy.ports.end(), port)) {
      continue;
    }
    return *policy.mtls;
  }
  return proxyconfig::MtlsMode::kPermissive;
}

PlaintextInbound plaintext_inbound(proxyconfig::MtlsMode mode, std::span<const ProbeRoute> probes,
                                   std::uint16_t port, bool http1) {
  using Access = PlaintextInbound::Access;
  if (mode != proxyconfig::MtlsMode::kStrict) return {Access::kServed, {}};
  const std::span<const ProbeRoute> of_port = probe_routes_of_port(probes, port);
  if (!http1 || of_port.empty()) return {Access::kRefused, {}};
  return {Access::kProbesOnly, of_port};
}

}  // namespace weft::proxy
