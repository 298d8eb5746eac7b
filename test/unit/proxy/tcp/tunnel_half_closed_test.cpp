// The limits that a tunnel in which one side spoke, or one side ended, gets:
// the silent limit holds until bytes moved both ways (one byte from a client
// to a server that never answers does not buy the idle hour), and once one
// direction ended, the other is cut when it moved nothing for the
// half-closed limit; a request, a half-close and a whole answer still pass.

#include <array>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "proxy/tcp/tunnel.h"
#include "test/unit/proxy/tcp/tunnel_run.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// A tunnel with a silent limit 200 ms from now, a half-closed limit of
// `half_closed_limit` and an idle limit of `idle_limit`.
struct Run : testing::TunnelRun {
  void start(std::string_view a_pending = {}, Clock::duration idle_limit = 600ms,
             Clock::duration half_closed_limit = 5s) {
    TunnelRun::start({.limit = idle_limit, .half_closed_limit = half_closed_limit}, 200ms,
                     a_pending);
  }
};

// Reads `socket` until EOF or an error, into `into`.
awaitable<void> read_all(Socket& socket, std::string& into) {
  std::array<char, 1024> chunk{};
  while (true) {
    error_code ec;
    const std::size_t n = co_await socket.async_read_some(asio::buffer(chunk), redirect(ec));
    into.append(chunk.data(), n);
    if (ec) co_return;
  }
}

}  // namespace

TEST_CASE(
    "a client that sent one byte to a server that never answers is closed at the silent "
    "limit",
    "[tunnel]") {
  Run run;
  run.start();
  asio::write(run.a.far, asio::buffer("x", 1));
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(run.took >= 200ms);
  CHECK(run.silent_closed.value() == 1);
  CHECK(run.idle_closed.value() == 0);
  CHECK_FALSE(run.a.near.is_open());
  CHECK_FALSE(run.b.near.is_open());
}

TEST_CASE(
    "a byte read before the tunnel, from a client the server never answers, is closed at "
    "the silent limit",
    "[tunnel]") {
  Run run;
  run.start("x");
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(run.silent_closed.value() == 1);
  CHECK(run.idle_closed.value() == 0);
}

TEST_CASE("a server's greeting that the client never answers is closed at the silent limit",
          "[tunnel]") {
  Run run;
  run.start();
  asio::write(run.b.far, asio::buffer("220 hello\r\n", 11));
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(run.silent_closed.value() == 1);
  CHECK(run.idle_closed.value() == 0);
}

TEST_CASE("a tunnel in which both sides spoke gets the idle limit", "[tunnel]") {
  Run run;
  run.start("x");
  asio::write(run.b.far, asio::buffer("y", 1));
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(run.took >= 600ms);
  CHECK(run.silent_closed.value() == 0);
  CHECK(run.idle_closed.value() == 1);
}

TEST_CASE("a half-closed tunnel whose other side stays silent is closed at the half-closed limit",
          "[tunnel]") {
  Run run;
  // Both spoke (the silent limit is off), then the client ends its stream;
  // the server never answers. Idle limit 10 s: not what closes it.
  run.start("request", 10s, 300ms);
  asio::write(run.b.far, asio::buffer("hello", 5));
  run.a.far.shutdown(Socket::shutdown_send);
  const auto started = Clock::now();
  run.io.run_for(20s);
  REQUIRE(run.ended);
  CHECK(Clock::now() - started < 5s);
  CHECK(run.took >= 300ms);
  CHECK(run.half_closed.value() == 1);
  CHECK(run.idle_closed.value() == 0);
  CHECK(run.silent_closed.value() == 0);
  CHECK_FALSE(run.a.near.is_open());
  CHECK_FALSE(run.b.near.is_open());
}

TEST_CASE("a half-closed tunnel lives on while the other direction moves bytes", "[tunnel]") {
  Run run;
  run.start("request", 10s, 300ms);
  run.a.far.shutdown(Socket::shutdown_send);
  std::string received;
  asio::co_spawn(run.io.get_executor(), read_all(run.a.far, received), asio::detached);
  // The server answers in 8 parts 150 ms apart (1.2 s in all, four times the
  // half-closed limit; each gap half of it), then ends.
  asio::co_spawn(
      run.io.get_executor(),
      [&]() -> awaitable<void> {
        Timer pause(run.io);
        error_code ec;
        for (int i = 0; i < 8 && !ec; ++i) {
          co_await asio::async_write(run.b.far, asio::buffer("part", 4), redirect(ec));
          pause.expires_after(150ms);
          co_await pause.async_wait(redirect(ec));
        }
        run.b.far.shutdown(Socket::shutdown_send);
      },
      asio::detached);
  run.io.run_for(20s);
  REQUIRE(run.ended);
  CHECK(received.size() == 32);
  CHECK(run.half_closed.value() == 0);
  CHECK(run.idle_closed.value() == 0);
  CHECK(run.silent_closed.value() == 0);
}

TEST_CASE("a request, a half-close and the server's whole answer pass the tunnel", "[tunnel]") {
  Run run;
  run.start({}, 10s, 5s);
  std::string request;
  std::string answer;
  // The server reads the request to its end, then answers 100 KiB and closes.
  asio::co_spawn(
      run.io.get_executor(),
      [&]() -> awaitable<void> {
        co_await read_all(run.b.far, request);
        const std::string body(100 * 1024, 'z');
        error_code ec;
        co_await asio::async_write(run.b.far, asio::buffer(body), redirect(ec));
        run.b.far.shutdown(Socket::shutdown_send);
      },
      asio::detached);
  asio::write(run.a.far, asio::buffer("GET-ish\n", 8));
  run.a.far.shutdown(Socket::shutdown_send);
  asio::co_spawn(run.io.get_executor(), read_all(run.a.far, answer), asio::detached);
  run.io.run_for(20s);
  REQUIRE(run.ended);
  CHECK(request == "GET-ish\n");
  CHECK(answer == std::string(100 * 1024, 'z'));
  CHECK(run.half_closed.value() == 0);
  CHECK(run.idle_closed.value() == 0);
  CHECK(run.silent_closed.value() == 0);
}
