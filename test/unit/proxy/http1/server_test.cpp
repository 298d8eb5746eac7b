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

  void serve(Direction direction = Direction::kOutbound, std::string_view client_identity = {}) {
    const ConnectionTarget target{direction, upstream_listener.local_endpoint(), client_identity};
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

TEST_CASE("a request's metrics name its TLS peer", "[http1_server]") {
  const std::string identity = "spiffe://cluster.local/ns/shop/sa/web";
  for (const Direction direction : {Direction::kInbound, Direction::kOutbound}) {
    Fixture f;
    f.serve(direction,
            direction == Direction::kInbound ? std::string_view(identity) : std::string_view());
    Socket upstream(f.io);
    bool accepted = false;
    f.upstream_listener.async_accept(upstream, [&](const error_code& ec) { accepted = !ec; });
    asio::write(f.client_peer, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: t\r\n\r\n")));
    for (int i = 0; i < 100 && !accepted; ++i) f.io.run_for(10ms);
    REQUIRE(accepted);
    asio::write(upstream, asio::buffer(std::string("HTTP/1.1 204 No Content\r\n\r\n")));
    const auto answered = [&] { return f.client_peer.available() > 0; };
    for (int i = 0; i < 100 && !answered(); ++i) f.io.run_for(10ms);
    REQUIRE(answered());
    const std::string text = f.registry.expose();
    if (direction == Direction::kInbound) {
      // Over mesh mTLS (the connection's client identity), counted as such.
      CHECK_THAT(text, Catch::Contains("request_total{direction=\"inbound\""));
      CHECK_THAT(text, Catch::Contains("tls=\"true\",no_tls_reason=\"\",client_id=\"" + identity +
                                       "\",server_id=\"\",status_code=\"204\""));
    } else {
      // No document: the destination is no meshed endpoint.
      CHECK_THAT(text, Catch::Contains("tls=\"no_identity\",no_tls_reason=\"not_provided_by_"
                                       "service_discovery\",client_id=\"\",server_id=\"\"} 1"));
      CHECK_THAT(text, Catch::Contains("status_code=\"204\""));
    }
    f.pool.stop();
  }
}
