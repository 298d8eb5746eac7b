#pragma once

// The metrics of mTLS, with Linkerd's label names and values:
//   tls_handshake_failures_total{direction, reason}   reason: HandshakeFailure
//   tcp_tls_connections_total{direction, tls, no_tls_reason, client_id, server_id}
//     the values of tls_labels.h (a refused handshake is no connection:
//     it is counted in tls_handshake_failures_total only).
//   mtls_strict_refused_total{reason}   plaintext refused by Strict:
//     reason="plaintext" a connection closed unserved (not HTTP/1, or its
//     port has no probes), "not_a_probe" an HTTP request answered 403 (and
//     its connection closed) because it is not one of the kubelet's probes
// Bounded: peer identities of tcp_tls_connections_total (client ids are
// whatever certificates the anchors vouch for) go through MetricsCache, as
// the HTTP metrics' do: past --metrics-max-identities-per-target of them a
// new one counts as "other" (metrics_identity_folded_total), and unused ones
// expire.

#include <array>
#include <string_view>

#include "proxy/metrics.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_labels.h"
#include "weft/metrics.h"

namespace weft::proxy {

using HandshakeCounters = std::array<Counter*, kHandshakeFailureCount>;

enum class StrictRefusal { kPlaintext, kNotAProbe };

class TlsMetrics {
 public:
  explicit TlsMetrics(MetricsCache& cache);

  const HandshakeCounters& handshake_failures(Direction direction) const {
    return failures_[direction == Direction::kInbound ? 0 : 1];
  }
  void count_failure(Direction direction, HandshakeFailure reason) {
    handshake_failures(direction)[static_cast<std::size_t>(reason)]->inc();
  }
  // One connection: `peer_id` the identity it proved (empty: plaintext).
  void count_connection(Direction direction, std::string_view peer_id);
  Counter& strict_refused(StrictRefusal reason) {
    return reason == StrictRefusal::kPlaintext ? strict_refused_plaintext_
                                               : strict_refused_not_a_probe_;
  }

 private:
  MetricsCache& cache_;
  Family<Counter>& strict_refused_;
  Counter& strict_refused_plaintext_;
  Counter& strict_refused_not_a_probe_;
  std::array<HandshakeCounters, 2> failures_{};
  std::array<Counter*, 2> plaintext_{};  // tls="no_identity", by direction
};

}  // namespace weft::proxy
