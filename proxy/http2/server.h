#pragma once

// The HTTP/2 codec's server side for one client connection (h2c with prior
// knowledge, or inside the mesh's mTLS): nghttp2 parses the frames; each
// request stream runs the same layers as an HTTP/1 request (admission,
// authorization inbound, routing, timeouts, then forward() in stack.h with
// the HTTP/2 Upstream: retries, balancing per request, connection), and its
// response's head, body and trailers are relayed as they come, with flow
// control end to end. Local answers are HTTP/2 responses, and trailers-only
// gRPC statuses for gRPC requests. GOAWAY on drain and after the idle
// timeout; limits in proxy/http2/limits.h.

#include "proxy/core/asio.h"
#include "proxy/core/read_buffer.h"
#include "proxy/core/worker.h"
#include "proxy/http1/server.h"
#include "proxy/layers/routing.h"
#include "proxy/tls/stream.h"

namespace weft::proxy {

// `buffer` holds the client's first bytes (its preface, from detection).
awaitable<ConnectionBytes> serve_http2(Worker& worker, Stream& client, ReadBuffer& buffer,
                                       ConnectionTarget target);

}  // namespace weft::proxy
