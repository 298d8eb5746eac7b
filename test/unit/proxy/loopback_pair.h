#pragma once

// The two ends of a real TCP connection on 127.0.0.1, for the unit tests of
// what runs on sockets (tunnels, TLS streams): `near` is the end the code
// under test gets (the accepted one), `far` the peer's.

#include "proxy/core/asio.h"

namespace weft::proxy::testing {

struct Connected {
  Socket near;  // the code under test's end
  Socket far;   // the peer's end
};

inline Connected connect_pair(asio::io_context& io) {
  Acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Socket far(io);
  far.connect(acceptor.local_endpoint());
  return {acceptor.accept(), std::move(far)};
}

}  // namespace weft::proxy::testing
