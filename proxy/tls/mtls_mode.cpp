#include "proxy/tls/mtls_mode.h"

namespace weft::proxy {

PlaintextInbound plaintext_inbound(proxyconfig::MtlsMode mode, std::span<const ProbeRoute> probes,
                                   std::uint16_t port, bool http1) {
  using Access = PlaintextInbound::Access;
  if (mode != proxyconfig::MtlsMode::kStrict) return {Access::kServed, {}};
  const std::span<const ProbeRoute> of_port = probe_routes_of_port(probes, port);
  if (!http1 || of_port.empty()) return {Access::kRefused, {}};
  return {Access::kProbesOnly, of_port};
}

}  // namespace weft::proxy
