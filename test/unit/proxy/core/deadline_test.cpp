// The lazy Deadline on a real io_context and a connected loopback socket pair
// (no traffic leaves the process): it cancels a pending read when its time
// comes, an earlier re-arm takes effect, a later one postpones, disarm stops it,
// and a destroyed one cancels nothing.

#include "proxy/core/deadline.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

struct SocketPair {
  asio::io_context io;
  Socket client{io};
  Socket server{io};
  SocketPair() {
    Acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    server = acceptor.accept();
  }
};

// Starts a read that never gets data; returns when it ends, with its error.
error_code read_until_cancelled(SocketPair& pair, std::chrono::milliseconds budget,
                                const std::function<void()>& after_start = {}) {
  error_code result = asio::error::would_block;
  char byte = 0;
  pair.server.async_read_some(asio::buffer(&byte, 1),
                              [&](const error_code& ec, std::size_t) { result = ec; });
  if (after_start) after_start();
  pair.io.run_for(budget);
  pair.io.restart();
  return result;
}

}  // namespace

TEST_CASE("an armed deadline cancels the pending read", "[deadline]") {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor());
  const auto started = std::chrono::steady_clock::now();
  deadline.arm(pair.server, 50ms);
  CHECK(read_until_cancelled(pair, 2000ms) == asio::error::operation_aborted);
  CHECK(deadline.expired());
  CHECK(std::chrono::steady_clock::now() - started >= 50ms);
}

TEST_CASE("re-arming earlier takes effect at once", "[deadline]") {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor());
  deadline.arm(pair.server, 60s);
  deadline.arm(pair.server, 30ms);
  CHECK(read_until_cancelled(pair, 2000ms) == asio::error::operation_aborted);
  CHECK(deadline.expired());
}

TEST_CASE("re-arming later postpones to the new time", "[deadline]") {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor());
  const auto started = std::chrono::steady_clock::now();
  deadline.arm(pair.server, 30ms);
  deadline.arm(pair.server, 300ms);  // the 30ms wait fires, sees the new expiry, waits again
  CHECK(read_until_cancelled(pair, 3000ms) == asio::error::operation_aborted);
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  CHECK(deadline.expired());
}

TEST_CASE("a disarmed deadline never cancels", "[deadline]") {
  SocketPair pair;
  Deadline deadline(pair.io.get_executor());
  deadline.arm(pair.server, 20ms);
  deadline.disarm();
  CHECK(read_until_cancelled(pair, 200ms) == asio::error::would_block);
  CHECK_FALSE(deadline.expired());
}

TEST_CASE("a deadline destroyed while its timer is pending touches nothing", "[deadline]") {
  SocketPair pair;
  {
    auto socket = std::make_unique<Socket>(pair.io);
    Deadline deadline(pair.io.get_executor());
    deadline.arm(*socket, 1ms);
  }  // socket and deadline gone; the timer's handler still runs (ASan checks it)
  CHECK(pair.io.run_for(50ms) == 1);  // that handler, and nothing else
  pair.io.restart();
  {
    Deadline deadline(pair.io.get_executor());
    deadline.arm(pair.server, 20ms);
  }  // destroyed while armed: its socket lives on, untouched
  CHECK(read_until_cancelled(pair, 200ms) == asio::error::would_block);
}
