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

}  // namespace weft::proxy
