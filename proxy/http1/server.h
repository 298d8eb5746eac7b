#pragma once

// The HTTP/1 codec's server side for one client connection: parses
// requests, hands each to the layers (proxy/layers/: admission, routing and
// timeouts here, then forward() in stack.h for the tries: retries,
// balancing, connection, and the HTTP/1 client side, http1/client.h), and
// relays the response back; keep-alive, pipelining in order, 100-continue,
// and upgrades (WebSocket) handed to the tunnel after a 101. The layers
// decide; the codec does the HTTP/1 reading and writing they call for.
//
// Failures are answered, never thrown: 400/431/501/505 for a bad request (and
// the connection closed), 404 when routes exist but none match, 502 when no
// connection could be made or the response was malformed, 503 when no endpoint
// is available, 504 when a timeout expired.

#include "proxy/core/asio.h"
#include "proxy/core/read_buffer.h"
#include "proxy/core/worker.h"
#include "proxy/layers/routing.h"
#include "proxy/metrics.h"
#include "proxy/tls/stream.h"

namespace weft::proxy {

// `buffer` may already hold the first bytes (read by protocol detection).
// Returns the bytes read from and written to the client.
struct ConnectionBytes {
  std::uint64_t read = 0;
  std::uint64_t written = 0;
};
awaitable<ConnectionBytes> serve_http1(Worker& worker, Stream& client, ReadBuffer& buffer,
                                       ConnectionTarget target);

}  // namespace weft::proxy
