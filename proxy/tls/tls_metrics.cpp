#include "proxy/tls/tls_metrics.h"

namespace weft::proxy {

TlsMetrics::TlsMetrics(MetricsCache& cache)
    : cache_(cache),
      strict_refused_(cache.metrics().registry.counter(
          "mtls_strict_refused_total",
          "Inbound plaintext refused because a Strict MeshPolicy covers its port: "
          "reason=\"plaintext\" a connection closed unserved, \"not_a_probe\" an HTTP "
          "request that is not one of the pod's probes (answered 403).",
          {"reason"})),
      strict_refused_plaintext_(strict_refused_.with_labels({"plaintext"})),
      strict_refused_not_a_probe_(strict_refused_.with_labels({"not_a_probe"})) {
  Family<Counter>& failures = cache.metrics().registry.counter(
      "tls_handshake_failures_total",
      "mTLS handshakes that failed, by direction and reason (no_credentials, unknown_authority, "
      "expired, bad_certificate, no_client_certificate, wrong_identity, no_identity, "
      "wrong_trust_domain, protocol, timeout, closed, chain_too_large).",
      {"direction", "reason"});
  for (const Direction direction : {Direction::kInbound, Direction::kOutbound}) {
    // (Plaintext is one series per direction: never capped nor expired.)
    plaintext_[direction == Direction::kInbound ? 0 : 1] =
        &cache.metrics().tcp_tls_connections_total.with_labels(
            tls_connection_labels(direction, {.status = PeerTls::kPlain}));
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
  cache_.count_tls_connection(direction, peer_id);
}

}  // namespace weft::proxy
