#include "proxy/tls/tls_labels.h"

namespace weft::proxy {

TlsPeer inbound_peer(std::string_view client_identity) {
  if (client_identity.empty()) return {};
  return {.status = PeerTls::kMutual, .identity = client_identity};
}

TlsPeer outbound_peer(std::string_view expected_identity, bool has_credentials) {
  if (expected_identity.empty()) return {};
  if (!has_credentials) return {.status = PeerTls::kNoCredentials};
  return {.status = PeerTls::kMutual, .identity = expected_identity};
}

TlsLabelValues tls_label_values(Direction direction, const TlsPeer& peer) {
  const bool inbound = direction == Direction::kInbound;
  switch (peer.status) {
    case PeerTls::kMutual:
      return {.tls = "true",
              .client_id = inbound ? peer.identity : std::string_view(),
              .server_id = inbound ? std::string_view() : peer.identity};
    case PeerTls::kNoCredentials:
      return {.tls = "no_identity", .no_tls_reason = "no_credentials"};
    case PeerTls::kPlain:
      break;
  }
  return {.tls = "no_identity",
          .no_tls_reason = inbound ? "no_tls_from_remote" : "not_provided_by_service_discovery"};
}

}  // namespace weft::proxy
