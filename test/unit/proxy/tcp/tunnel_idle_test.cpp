// A tunnel in which nothing moves for its idle limit is closed, whether both
// peers went silent or one stopped reading while the other still writes (then
// only a write waits, on the side that stopped: both sockets must close).

#include <array>
#include <boost/asio/read.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

#include "proxy/tcp/tunnel.h"
#include "test/unit/proxy/loopback_pair.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

using testing::connect_pair;
using testing::Connected;

struct Outcome {
  bool ended = false;
  std::chrono::steady_clock::duration took{};
};

void run_tunnel(asio::io_context& io, Connected& a, Connected& b, weft::Counter& closed,
                Outcome& outcome) {
  const auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io.get_executor(),
      // started by value: this function returns before the coroutine ends.
      [&a, &b, &closed, &outcome, started]() -> awaitable<void> {
        co_await tunnel(a.near, {}, b.near, {}, {.limit = 200ms, .closed = &closed});
        outcome.ended = true;
        outcome.took = std::chrono::steady_clock::now() - started;
      },
      asio::detached);
}

}  // namespace

TEST_CASE("a tunnel silent both ways is closed after its idle limit", "[tunnel]") {
  asio::io_context io;
  Connected a = connect_pair(io);
  Connected b = connect_pair(io);
  weft::Counter closed;
  Outcome outcome;
  run_tunnel(io, a, b, closed, outcome);
  io.run_for(10s);
  REQUIRE(outcome.ended);
  CHECK(outcome.took >= 200ms);
  CHECK(closed.value() == 1);
  CHECK_FALSE(a.near.is_open());
  CHECK_FALSE(b.near.is_open());
}

TEST_CASE("a tunnel whose far side stopped reading is closed too", "[tunnel]") {
  asio::io_context io;
  Connected a = connect_pair(io);
  Connected b = connect_pair(io);
  weft::Counter closed;
  Outcome outcome;
  run_tunnel(io, a, b, closed, outcome);
  // a's peer writes until the kernel's buffers on the way to b's peer, which
  // never reads, are full: then the tunnel waits on a write to b, not a read.
  std::vector<char> block(1 << 20, 'x');
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        error_code ec;
        while (!ec) co_await asio::async_write(a.far, asio::buffer(block), redirect(ec));
      },
      asio::detached);
  io.run_for(20s);
  REQUIRE(outcome.ended);
  CHECK(closed.value() == 1);
}

TEST_CASE("bytes moving keep a tunnel open past its idle limit", "[tunnel]") {
  asio::io_context io;
  Connected a = connect_pair(io);
  Connected b = connect_pair(io);
  weft::Counter closed;
  Outcome outcome;
  run_tunnel(io, a, b, closed, outcome);
  int echoed = 0;
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        Timer pause(io);
        std::array<char, 1> byte{'x'};
        for (int i = 0; i < 8; ++i) {  // one byte every 100 ms: 800 ms in all
          pause.expires_after(100ms);
          error_code ec;
          co_await pause.async_wait(redirect(ec));
          co_await asio::async_write(a.far, asio::buffer(byte), redirect(ec));
          co_await asio::async_read(b.far, asio::buffer(byte), redirect(ec));
          if (!ec) ++echoed;
        }
        a.far.close();  // then the ends: the tunnel ends by EOF, not idleness
        b.far.close();
      },
      asio::detached);
  io.run_for(20s);
  REQUIRE(outcome.ended);
  CHECK(echoed == 8);
  CHECK(closed.value() == 0);
}
