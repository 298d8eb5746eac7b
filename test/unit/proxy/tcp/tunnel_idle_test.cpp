// A tunnel in which nothing moves for its idle limit is closed, whether both
// peers went silent or one stopped reading while the other still writes (then
// only a write waits, on the side that stopped: both sockets must close).

#include <array>
#include <boost/asio/read.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "proxy/tcp/tunnel.h"
#include "test/unit/proxy/tcp/tunnel_run.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

// A tunnel with a 200 ms idle limit and no other.
struct Run : testing::TunnelRun {
  void start() { TunnelRun::start({.limit = 200ms}); }
};

}  // namespace

TEST_CASE("a tunnel silent both ways is closed after its idle limit", "[tunnel]") {
  Run run;
  run.start();
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(run.took >= 200ms);
  CHECK(run.idle_closed.value() == 1);
  CHECK_FALSE(run.a.near.is_open());
  CHECK_FALSE(run.b.near.is_open());
}

TEST_CASE("a tunnel whose far side stopped reading is closed too", "[tunnel]") {
  Run run;
  run.start();
  // a's peer writes until the kernel's buffers on the way to b's peer, which
  // never reads, are full: then the tunnel waits on a write to b, not a read.
  std::vector<char> block(1 << 20, 'x');
  asio::co_spawn(
      run.io.get_executor(),
      [&]() -> awaitable<void> {
        error_code ec;
        while (!ec) co_await asio::async_write(run.a.far, asio::buffer(block), redirect(ec));
      },
      asio::detached);
  run.io.run_for(20s);
  REQUIRE(run.ended);
  CHECK(run.idle_closed.value() == 1);
}

TEST_CASE("bytes moving keep a tunnel open past its idle limit", "[tunnel]") {
  Run run;
  run.start();
  int echoed = 0;
  asio::co_spawn(
      run.io.get_executor(),
      [&]() -> awaitable<void> {
        Timer pause(run.io);
        std::array<char, 1> byte{'x'};
        for (int i = 0; i < 8; ++i) {  // one byte every 100 ms: 800 ms in all
          pause.expires_after(100ms);
          error_code ec;
          co_await pause.async_wait(redirect(ec));
          co_await asio::async_write(run.a.far, asio::buffer(byte), redirect(ec));
          co_await asio::async_read(run.b.far, asio::buffer(byte), redirect(ec));
          if (!ec) ++echoed;
        }
        run.a.far.close();  // then the ends: the tunnel ends by EOF, not idleness
        run.b.far.close();
      },
      asio::detached);
  run.io.run_for(20s);
  REQUIRE(run.ended);
  CHECK(echoed == 8);
  CHECK(run.idle_closed.value() == 0);
}
