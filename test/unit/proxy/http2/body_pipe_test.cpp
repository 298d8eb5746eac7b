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

TEST_CASE("bytes taken into a string, or dropped, are reported taken", "[http2]") {
  BodyPipe pipe;
  std::size_t taken = 0;
  pipe.on_taken = [&](std::size_t n) { taken += n; };
  pipe.append("hello world");
  std::string out = "> ";
  CHECK(pipe.take_into(out, 5) == 5);
  CHECK(out == "> hello");
  CHECK(pipe.drop(1) == 1);  // the space
  CHECK(pipe.take_into(out, 100) == 5);
  CHECK(out == "> helloworld");
  CHECK(taken == 11);
  CHECK(pipe.buffered() == 0);
  CHECK(pipe.take_into(out, 4) == 0);
  CHECK(pipe.drop(4) == 0);
  CHECK(taken == 11);
  pipe.end();
  CHECK(pipe.finished());
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

namespace {

// One call of a data provider, as nghttp2 makes it while sending DATA.
struct Read {
  std::string bytes;
  std::uint32_t flags = 0;
  ssize_t result = 0;
};
Read read_from(const nghttp2_data_provider& provider, std::size_t length) {
  Read out;
  std::string buffer(length, '\0');
  nghttp2_data_source source = provider.source;
  out.result = provider.read_callback(nullptr, 1, reinterpret_cast<std::uint8_t*>(buffer.data()),
                                      length, &out.flags, &source, nullptr);
  if (out.result > 0) out.bytes = buffer.substr(0, static_cast<std::size_t>(out.result));
  return out;
}

}  // namespace

TEST_CASE("a teed body streams from its pipe and keeps a copy of what went out", "[http2]") {
  BodyPipe pipe;
  TeedBody teed{.pipe = &pipe, .limit = 16};
  const nghttp2_data_provider provider = teed_provider(teed);
  CHECK(read_from(provider, 8).result == NGHTTP2_ERR_DEFERRED);  // nothing yet
  pipe.append("grpc-frame");
  Read first = read_from(provider, 4);
  CHECK(first.bytes == "grpc");
  CHECK_FALSE(first.flags & NGHTTP2_DATA_FLAG_EOF);
  pipe.end();
  Read rest = read_from(provider, 64);
  CHECK(rest.bytes == "-frame");
  CHECK(rest.flags & NGHTTP2_DATA_FLAG_EOF);
  CHECK(pipe.finished());
  CHECK(teed.copy == "grpc-frame");  // all of it: the request can be sent again
  CHECK_FALSE(teed.overflowed);
}

TEST_CASE("a teed body past its limit keeps no copy, and still streams", "[http2]") {
  BodyPipe pipe;
  TeedBody teed{.pipe = &pipe, .limit = 8};
  const nghttp2_data_provider provider = teed_provider(teed);
  pipe.append("0123456");
  CHECK(read_from(provider, 64).bytes == "0123456");
  CHECK(teed.copy == "0123456");
  pipe.append("789");
  pipe.end();
  CHECK(read_from(provider, 64).bytes == "789");
  CHECK(teed.overflowed);
  CHECK(teed.copy.empty());
}
