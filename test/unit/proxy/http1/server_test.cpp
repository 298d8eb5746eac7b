// The HTTP/1 server side's lifetime edges, on a real worker and loopback
// sockets: a session destroyed while it waits for its next request (a
// shutdown cutting it) leaves nothing of it in the worker's idle list, and a
// session left by an exception (an allocation failure, injected) while its
// request body pump is running ends the pump before its frame goes.

#include "proxy/http1/server.h"

#include <catch2/catch.hpp>
#include <new>
#include <sstream>

#include "../failing_allocation.h"
#include "proxy/core/worker_pool.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  WorkerPool pool{1};  // its threads never start: the test runs the loop
  asio::io_context& io = pool.context(0);
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  MetricsCache cache{metrics};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kError, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};
  Runtime runtime{Settings{}, store, cache, log};
  Worker worker{io, runtime};
  Acceptor upstream_listener{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  Socket client_peer{io};            // the client application's end
  Stream client{io.get_executor()};  // the proxy's end
  ReadBuffer buffer;
  bool ended = false;
  bool ended_by_bad_alloc = false;

  Fixture() {
    Acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_peer.connect(acceptor.local_endpoint());
    client = Stream(acceptor.accept());
  }

  void serve() {
    const ConnectionTarget target{Direction::kOutbound, upstream_listener.local_endpoint()};
    asio::co_spawn(
        io,
        [this, target]() -> awaitable<void> {
          try {
            co_await serve_http1(worker, client, buffer, target);
          } catch (const std::bad_alloc&) {
            ended_by_bad_alloc = true;
          }
          ended = true;
        },
        asio::detached);
  }
};

}  // namespace

TEST_CASE("a session cut while idle leaves the worker's idle list", "[http1_server]") {
  Fixture f;
  f.serve();
  f.io.run_for(50ms);  // it waits for its first request: idle
  REQUIRE(f.worker.has_idle());
  f.pool.stop();  // destroys the suspended session
  CHECK_FALSE(f.ended);
  CHECK_FALSE(f.worker.has_idle());
}

TEST_CASE("a session left by an exception ends its request body pump first", "[http1_server]") {
  Fixture f;
  f.serve();
  Socket upstream(f.io);
  f.upstream_listener.async_accept(upstream, [](const error_code& ec) { REQUIRE_FALSE(ec); });
  // A request whose body streams to the upstream while the response is read.
  const std::string head = "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n";
  asio::write(f.client_peer, asio::buffer(head + "the first part"));
  const auto arrived = [&upstream] {
    error_code ec;  // (not open until accepted)
    return upstream.available(ec);
  };
  for (int i = 0; i < 100 && arrived() < head.size(); ++i) f.io.run_for(10ms);
  REQUIRE(arrived() >= head.size());
  // The pump waits for the rest of the body; the session, for the response.
  // The first allocation after the response arrives fails, in the session.
  const std::string_view response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  testing::fail_allocation(0);
  asio::write(upstream, asio::buffer(response));
  for (int i = 0; i < 100 && !f.ended; ++i) f.io.run_for(10ms);
  testing::disarm_allocation_failure();
  CHECK(testing::allocation_failed());
  REQUIRE(f.ended);
  CHECK(f.ended_by_bad_alloc);
  // The rest of the body arrives: no pump is left to read it.
  const std::string rest = "the rest";
  asio::write(f.client_peer, asio::buffer(rest));
  f.io.run_for(50ms);
  CHECK(f.client.lowest_layer().available() == rest.size());
}
