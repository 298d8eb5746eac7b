#pragma once

// When an HTTP/2 connection sends the frames an exchange made ready (a
// request submitted, a response head). By default the writer gathers what a
// turn of the event loop made into one write: one TLS record and one send
// for many streams. Between two meshed proxies that batch is a pipeline
// stall: the peer proxy, and the backend behind it, wait idle until this one
// has prepared every exchange of the turn. A batch of a few exchanges lets
// them start on the first ones meanwhile, at the cost of a write per batch
// (bench/RESULTS.md, "Batches between the proxies": batches of 4 gave +14 %
// requests/s at 50 in flight; a write per exchange -20 %, since each write
// costs both sides a TLS record, a send and a wake-up).

#include <cstddef>

namespace weft::proxy::http2 {

// Send now, rather than at the end of the turn? `lone_exchange`: at most one
// stream is open (nothing to share a write with); `ready_since_write`: the
// exchanges made ready since the last write, this one included;
// `write_batch`: 0 for one write per turn.
constexpr bool write_now(bool lone_exchange, std::size_t ready_since_write,
                         std::size_t write_batch) {
  return lone_exchange || (write_batch > 0 && ready_since_write >= write_batch);
}

}  // namespace weft::proxy::http2
