// The accounting of an open client connection, released however the
// connection's coroutine ends: normally, or by an exception escaping it on a
// real io_context, as serve_connection spawns it.

#include "proxy/core/connection_accounting.h"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "proxy/core/asio.h"

using namespace weft::proxy;

namespace {

struct Fixture {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  MetricsCache cache{metrics};
  std::shared_ptr<TcpMetrics> handle = cache.tcp(Direction::kOutbound, {"web:80", true});
  TcpMetrics& tcp = *handle;
  std::atomic<std::int64_t> open_connections{0};
};

awaitable<void> session(Fixture& f, bool fail) {
  ConnectionAccounting accounting(f.open_connections, f.tcp);
  accounting.bytes_read = 100;
  co_await asio::post(co_await asio::this_coro::executor, use_awaitable);  // suspend once
  CHECK(f.open_connections.load() == 1);
  CHECK(f.tcp.open_connections.value() == 1);
  if (fail) throw std::runtime_error("the session failed");
  accounting.bytes_written = 50;
}

void run(Fixture& f, bool fail) {
  asio::io_context io;
  bool ended_by_exception = false;
  asio::co_spawn(io.get_executor(), session(f, fail),
                 [&](const std::exception_ptr& error) { ended_by_exception = error != nullptr; });
  io.run();
  CHECK(ended_by_exception == fail);
}

}  // namespace

TEST_CASE("a connection's accounting is released when it ends", "[connection]") {
  Fixture f;
  run(f, false);
  CHECK(f.open_connections.load() == 0);
  CHECK(f.tcp.open_connections.value() == 0);
  CHECK(f.tcp.open_total.value() == 1);
  CHECK(f.tcp.close_total.value() == 1);
  CHECK(f.tcp.read_bytes.value() == 100);
  CHECK(f.tcp.write_bytes.value() == 50);
}

TEST_CASE("a connection ended by an exception is released too", "[connection]") {
  Fixture f;
  run(f, true);
  // Shutdown waits for this count to reach zero.
  CHECK(f.open_connections.load() == 0);
  CHECK(f.tcp.open_connections.value() == 0);
  CHECK(f.tcp.close_total.value() == 1);
  CHECK(f.tcp.read_bytes.value() == 100);  // what was counted before the exception
}
