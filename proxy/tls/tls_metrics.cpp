#include "proxy/tls/tls_metrics.h"

namespace weft::proxy {

TlsMetrics::TlsMetrics(Registry& registry, std::size_t max_client_ids)
    : connections_(registry.counter(
          "tcp_tls_connections_total",
          "Connections by TLS status: tls=\"true\" with the peer's identity (client_id inbound, "
          "server_id outbound), or tls=\"no_identity\" with no_tls_reason.",
          {"direction", "tls", "no_tls_reason", "client_id", "server_id"})),
      strict_refused_(registry.counter(
          "mtls_strict_refused_total",
          "Inbound plaintext refused because a Strict MeshPolicy covers its port: "
          "reason=\"plaintext\" a connection closed unserved, \"not_a_probe\" an HTTP "
          "request that is not one of the pod's probes (answered 403).",
          {"reason"})),
      strict_refused_plaintext_(strict_refused_.with_labels({"plaintext"})),
      strict_refused_not_a_probe_(strict_refused_.with_labels({"not_a_probe"})),
      folded_(registry
                  .counter("tls_client_id_folded_total",
                           "Inbound mTLS connections counted under client_id=\"other\" because "
                           "--metrics-max-dynamic-targets client identities have series.")
                  .with_labels({})),
      max_client_ids_(max_client_ids) {
  Family<Counter>& failures = registry.counter(
      "tls_handshake_failures_total",
      "mTLS handshakes that failed, by direction and reason (no_credentials, unknown_authority, "
      "expired, bad_certificate, no_client_certificate, wrong_identity, no_identity, "
      "wrong_trust_domain, protocol, "
      "timeout, closed).",
      {"direction", "reason"});
  for (const Direction direction : {Direction::kInbound, Direction::kOutbound}) {
    plaintext_[direction == Direction::kInbound ? 0 : 1] =
        &connection_counter(direction, {.status = PeerTls::kPlain});
    for (std::size_t i = 0; i < kHandshakeFailureCount; ++i) {
      failures_[direction == Direction::kInbound ? 0 : 1][i] =
          &failures.with_labels({std::string(to_string(direction)),
                                 std::string(to_string(static_cast<HandshakeFailure>(i)))});
    }
  }
}

void TlsMetrics::count_connection(Direction direction, std::string_view peer_id) {
  if (peer_id.empty()) {
    plaintext_[direction == Direction::kInbound ? 0 : 1]->inc();
    return;
  }
  if (direction == Direction::kOutbound) {
    connection_counter(direction, {.status = PeerTls::kMutual, .identity = peer_id}).inc();
    return;
  }
  std::string label(peer_id);
  {
    std::lock_guard lock(mutex_);
    if (!client_ids_.contains(peer_id)) {
      if (client_ids_.size() < max_client_ids_) {
        client_ids_.emplace(peer_id);
      } else {
        label = std::string(kOtherTarget);
        folded_.inc();
      }
    }
  }
  connection_counter(direction, {.status = PeerTls::kMutual, .identity = label}).inc();
}

Counter& TlsMetrics::connection_counter(Direction direction, const TlsPeer& peer) {
  const TlsLabelValues tls = tls_label_values(direction, peer);
  return connections_.with_labels({std::string(to_string(direction)), std::string(tls.tls),
                                   std::string(tls.no_tls_reason), std::string(tls.client_id),
                                   std::string(tls.server_id)});
}

}  // namespace weft::proxy
