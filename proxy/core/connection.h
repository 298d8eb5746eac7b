#pragma once

// One accepted connection, from its original destination to its end:
// protocol detection (skipped for opaque ports), then the HTTP/1 proxy or an
// opaque TCP tunnel. Connection-level metrics (tcp_*) are kept here.

#include "proxy/core/asio.h"
#include "proxy/core/listener.h"
#include "proxy/core/worker.h"
#include "proxy/metrics.h"

namespace weft::proxy {

// Runs on the worker that accepted the socket; returns at once. The slot is
// held until the connection ends.
void serve_connection(Worker& worker, Socket socket, Direction direction, ConnectionSlot slot = {});

}  // namespace weft::proxy
