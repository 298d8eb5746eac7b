// A tunnel in which no byte moved at all is closed at its silent limit,
// counted apart from idleness; a first byte each way (a server's greeting and
// the client's reply, or bytes the client sent before the tunnel and the
// server's answer) hands it to the idle limit. (One side only speaking:
// tunnel_half_closed_test.cpp.)

#include <array>
#include <boost/asio/read.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string_view>

#include "proxy/tcp/tunnel.h"
#include "test/unit/proxy/tcp/tunnel_run.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// A tunnel with a 300 ms idle limit and a silent limit 100 ms from now.
struct Run : testing::TunnelRun {
  void start(std::string_view a_pending = {}) {
    TunnelRun::start({.limit = 300ms}, 100ms, a_pending);
  }
};

}  // namespace

TEST_CASE("a tunnel in which no byte moved is closed at its silent limit", "[tunnel]") {
  Run run;
  run.start();
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(run.took >= 100ms);
  CHECK(run.silent_closed.value() == 1);
  CHECK(run.idle_closed.value() == 0);
  CHECK_FALSE(run.a.near.is_open());
  CHECK_FALSE(run.b.near.is_open());
}

TEST_CASE("a server's greeting and the client's reply end the silent limit", "[tunnel]") {
  Run run;
  run.start();
  asio::write(run.b.far, asio::buffer("220 hello\r\n", 11));
  asio::write(run.a.far, asio::buffer("helo", 4));
  std::array<char, 11> greeting{};
  asio::co_spawn(
      run.io.get_executor(),
      [&]() -> awaitable<void> {
        error_code ec;
        co_await asio::async_read(run.a.far, asio::buffer(greeting), redirect(ec));
      },
      asio::detached);
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(std::string_view(greeting.data(), greeting.size()) == "220 hello\r\n");
  CHECK(run.took >= 300ms);
  CHECK(run.silent_closed.value() == 0);
  CHECK(run.idle_closed.value() == 1);
}

TEST_CASE("bytes the client sent before the tunnel and an answer end the silent limit",
          "[tunnel]") {
  Run run;
  run.start("x");
  asio::write(run.b.far, asio::buffer("y", 1));
  run.io.run_for(10s);
  REQUIRE(run.ended);
  CHECK(run.took >= 300ms);
  CHECK(run.silent_closed.value() == 0);
  CHECK(run.idle_closed.value() == 1);
}
