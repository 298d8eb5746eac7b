#pragma once

// The TLS labels of a connection's metrics, Linkerd's names and values:
//   tls="true"         the peer proved an identity over mesh mTLS: client_id
//                      (inbound) or server_id (outbound) names it;
//   tls="no_identity"  with no_tls_reason:
//     "no_tls_from_remote"                 inbound: the client sent plaintext
//                                          (or its own TLS, passed through);
//     "not_provided_by_service_discovery"  outbound: the document gives the
//                                          endpoint no identity (not meshed);
//     "no_credentials"                     outbound: the endpoint is meshed but
//                                          this proxy holds no certificate yet
//                                          (Weft's own: its tries fail).
// One function, so that tcp_tls_connections_total and the HTTP metrics agree.

#include <string_view>

#include "proxy/direction.h"

namespace weft::proxy {

enum class PeerTls { kPlain, kMutual, kNoCredentials };

// What a connection knows of its peer. `identity` (a SPIFFE ID, or the label
// it is counted under) matters only for kMutual.
struct TlsPeer {
  PeerTls status = PeerTls::kPlain;
  std::string_view identity{};

  bool operator==(const TlsPeer&) const = default;
};

// Inbound: the client's SPIFFE ID from its mTLS handshake ("" for plaintext).
TlsPeer inbound_peer(std::string_view client_identity);
// Outbound: the identity the document expects of the endpoint ("" when it is
// not meshed), and whether this proxy holds credentials to reach it. A try
// to a meshed endpoint only ever goes over mTLS to exactly that identity.
TlsPeer outbound_peer(std::string_view expected_identity, bool has_credentials);

// tls, no_tls_reason, client_id, server_id: in this order after a metric's
// own labels.
struct TlsLabelValues {
  std::string_view tls{};
  std::string_view no_tls_reason{};
  std::string_view client_id{};
  std::string_view server_id{};
};
TlsLabelValues tls_label_values(Direction direction, const TlsPeer& peer);

}  // namespace weft::proxy
