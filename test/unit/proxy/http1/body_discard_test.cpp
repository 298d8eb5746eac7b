// discard_body (proxy/http1/body_discard.h): the body of a request the proxy
// answered itself is read and dropped within its bound, on loopback sockets,
// so that the connection can carry the next request.

#include "proxy/http1/body_discard.h"

#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "proxy/core/deadline.h"

using namespace weft::proxy;
using namespace weft::proxy::http1;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  asio::io_context io;
  Socket peer{io};                   // the client application's end
  Stream client{io.get_executor()};  // the proxy's end
  ReadBuffer buffer;
  Deadline deadline{io.get_executor()};
  std::uint64_t bytes_in = 0;
  std::chrono::steady_clock::duration took{};

  Fixture() {
    Acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    client = Stream(acceptor.accept());
  }

  void send(std::string_view bytes) { asio::write(peer, asio::buffer(bytes)); }

  DiscardResult discard(BodyKind kind, std::uint64_t length, std::size_t max_bytes,
                        std::chrono::milliseconds budget = 2s) {
    BodyDecoder decoder;
    decoder.reset(kind, length);
    std::optional<DiscardResult> result;
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
          result =
              co_await discard_body(client, buffer, decoder, max_bytes, bytes_in, deadline, budget);
          took = std::chrono::steady_clock::now() - start;
        },
        asio::detached);
    io.run_for(5s);
    io.restart();
    REQUIRE(result);
    return *result;
  }

  std::string left() const { return std::string(buffer.data()); }
  void read_more() {
    error_code ec;
    const std::size_t n = client.read_some(buffer.prepare(), ec);
    REQUIRE_FALSE(ec);
    buffer.commit(n);
  }
};

constexpr std::string_view kNext = "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";

}  // namespace

TEST_CASE("a body with a length is dropped; the next request stays", "[body_discard]") {
  Fixture f;
  f.send(std::string(1000, 'x'));
  f.send(kNext);
  CHECK(f.discard(BodyKind::kContentLength, 1000, 4096) == DiscardResult::kDone);
  CHECK(f.bytes_in >= 1000);
  // Only the body was taken: what follows it (read with it or not) is the next request's.
  while (f.left().size() < kNext.size()) {
    f.read_more();
  }
  CHECK(f.left() == kNext);
}

TEST_CASE("a chunked body in pieces is dropped, its bytes never taken for a request",
          "[body_discard]") {
  Fixture f;
  // The chunk's data looks like a request: it is body.
  f.send("23\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n\r\n");
  f.send("0\r\n\r\n");
  f.send(kNext);
  CHECK(f.discard(BodyKind::kChunked, 0, 4096) == DiscardResult::kDone);
  while (f.left().size() < kNext.size()) {
    f.read_more();
  }
  CHECK(f.left() == kNext);
}

TEST_CASE("a body past the bound, a malformed one, a gone or silent client end the connection",
          "[body_discard]") {
  SECTION("longer than max_bytes, framing included") {
    Fixture f;
    f.send("1000\r\n" + std::string(4096, 'x'));
    CHECK(f.discard(BodyKind::kChunked, 0, 1024) == DiscardResult::kTooLarge);
  }
  SECTION("exactly max_bytes is dropped") {
    Fixture f;
    f.send(std::string(1024, 'x'));
    CHECK(f.discard(BodyKind::kContentLength, 1024, 1024) == DiscardResult::kDone);
  }
  SECTION("malformed chunk framing") {
    Fixture f;
    f.send("zz\r\nxx\r\n");
    CHECK(f.discard(BodyKind::kChunked, 0, 4096) == DiscardResult::kMalformed);
  }
  SECTION("the client closes before the body ends") {
    Fixture f;
    f.send("only part");
    f.peer.close();
    CHECK(f.discard(BodyKind::kContentLength, 100, 4096) == DiscardResult::kClientFailed);
    CHECK_FALSE(f.deadline.expired());
  }
  SECTION("the client stays silent past the budget") {
    Fixture f;
    f.send("only part");
    CHECK(f.discard(BodyKind::kContentLength, 100, 4096, 50ms) == DiscardResult::kClientFailed);
    CHECK(f.deadline.expired());
  }
  SECTION("the budget holds for the whole body, however the client paces it") {
    Fixture f;
    // A byte every 30 ms: each read is quick, the whole is not.
    asio::steady_timer pacer(f.io);
    int sent = 0;
    std::function<void()> drip = [&] {
      if (++sent > 60) return;
      f.send("x");
      pacer.expires_after(30ms);
      pacer.async_wait([&](const error_code&) { drip(); });
    };
    drip();
    CHECK(f.discard(BodyKind::kContentLength, 100, 4096, 200ms) == DiscardResult::kClientFailed);
    CHECK(f.deadline.expired());
    // Ended at the budget, while bytes still came (60 of them over 1.8 s).
    CHECK(f.took < 1s);
  }
}
