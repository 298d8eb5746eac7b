#include "proxy/http2/body_pipe.h"

#include <catch2/catch.hpp>

using namespace weft::proxy::http2;

TEST_CASE("a body pipe hands bytes on and reports what was taken", "[http2]") {
  BodyPipe pipe;
  std::size_t taken = 0;
  int readable = 0;
  pipe.on_taken = [&](std::size_t n) { taken += n; };
  pipe.on_readable = [&] { ++readable; };
  pipe.append("hello ");
  pipe.append("world");
  CHECK(readable == 2);
  char out[8];
  REQUIRE(pipe.take(out, sizeof out) == 8);
  CHECK(std::string_view(out, 8) == "hello wo");
  CHECK(taken == 8);  // the producer's window reopens by that much
  CHECK_FALSE(pipe.finished());
  HeaderList trailers;
  trailers.add("grpc-status", "0");
  pipe.end(std::move(trailers));
  CHECK(pipe.take_all() == "rld");
  CHECK(taken == 11);
  CHECK(pipe.finished());
  CHECK(pipe.trailers().find("grpc-status") == "0");
}

TEST_CASE("a cancelled pipe drops what comes, still reporting it taken", "[http2]") {
  BodyPipe pipe;
  std::size_t taken = 0;
  bool cancelled = false;
  pipe.on_taken = [&](std::size_t n) { taken += n; };
  pipe.on_cancelled = [&] { cancelled = true; };
  pipe.append("abc");
  pipe.cancel();
  CHECK(cancelled);
  CHECK(taken == 3);  // buffered bytes given back
  pipe.append("defg");
  CHECK(taken == 7);
  CHECK(pipe.buffered() == 0);
}

TEST_CASE("an aborted pipe holds nothing", "[http2]") {
  BodyPipe pipe;
  pipe.append("abc");
  pipe.abort();
  CHECK(pipe.aborted());
  CHECK(pipe.buffered() == 0);
  pipe.append("more");
  CHECK(pipe.buffered() == 0);
}
