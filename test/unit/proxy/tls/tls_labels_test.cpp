// The TLS labels of the proxy's metrics: Linkerd's names and values, one
// function for the HTTP metrics and tcp_tls_connections_total.

#include "proxy/tls/tls_labels.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;

namespace {
constexpr std::string_view kClient = "spiffe://cluster.local/ns/shop/sa/web";
constexpr std::string_view kServer = "spiffe://cluster.local/ns/shop/sa/api";
}  // namespace

TEST_CASE("inbound: tls=true with client_id over mTLS, no_tls_from_remote otherwise",
          "[tls_labels]") {
  const TlsLabelValues mutual = tls_label_values(Direction::kInbound, inbound_peer(kClient));
  CHECK(mutual.tls == "true");
  CHECK(mutual.no_tls_reason.empty());
  CHECK(mutual.client_id == kClient);
  CHECK(mutual.server_id.empty());

  const TlsLabelValues plain = tls_label_values(Direction::kInbound, inbound_peer(""));
  CHECK(plain.tls == "no_identity");
  CHECK(plain.no_tls_reason == "no_tls_from_remote");
  CHECK(plain.client_id.empty());
  CHECK(plain.server_id.empty());
}

TEST_CASE("outbound: server_id for a meshed endpoint, a reason for the others", "[tls_labels]") {
  const TlsLabelValues mutual =
      tls_label_values(Direction::kOutbound, outbound_peer(kServer, true));
  CHECK(mutual.tls == "true");
  CHECK(mutual.no_tls_reason.empty());
  CHECK(mutual.client_id.empty());
  CHECK(mutual.server_id == kServer);

  // Not meshed: credentials or not, plaintext.
  for (const bool credentials : {true, false}) {
    const TlsPeer peer = outbound_peer("", credentials);
    CHECK(peer.status == PeerTls::kPlain);
    const TlsLabelValues plain = tls_label_values(Direction::kOutbound, peer);
    CHECK(plain.tls == "no_identity");
    CHECK(plain.no_tls_reason == "not_provided_by_service_discovery");
    CHECK(plain.server_id.empty());
  }

  // Meshed, but no certificate yet: no identity, and not the endpoint's either.
  const TlsPeer bare = outbound_peer(kServer, false);
  CHECK(bare.status == PeerTls::kNoCredentials);
  const TlsLabelValues none = tls_label_values(Direction::kOutbound, bare);
  CHECK(none.tls == "no_identity");
  CHECK(none.no_tls_reason == "no_credentials");
  CHECK(none.server_id.empty());
}
