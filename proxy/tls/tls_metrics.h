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
// Bounded: server ids come from the document; client ids are whatever
// certificates the anchors vouch for, so past `max_client_ids` distinct ones
// new ids are counted as client_id="other" (tls_client_id_folded_total).

#include <array>
#include <mutex>
#include <set>
#include <string>
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
  TlsMetrics(Registry& registry, std::size_t max_client_ids);

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
  Counter& connection_counter(Direction direction, const TlsPeer& peer);

  Family<Counter>& connections_;
  Family<Counter>& strict_refused_;
  Counter& strict_refused_plaintext_;
  Counter& strict_refused_not_a_probe_;
  Counter& folded_;
  std::array<HandshakeCounters, 2> failures_{};
  std::array<Counter*, 2> plaintext_{};  // tls="no_identity", by direction
  std::size_t max_client_ids_;
  std::mutex mutex_;
  std::set<std::string, std::less<>> client_ids_;  // those with their own series
};

}  // namespace weft::proxy
