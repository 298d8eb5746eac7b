#include "proxy/http2/stream_ids.h"

#include <catch2/catch.hpp>

using weft::proxy::http2::SkippedStreamIds;

TEST_CASE("a client's streams in order are all allowed, trailers too", "[http2]") {
  SkippedStreamIds ids;
  for (std::int32_t id = 1; id < 200; id += 2) CHECK(ids.headers_allowed(id));
  // A second block on a stream already opened (trailers, or late after a
  // reset: a legal race) is nghttp2's to judge.
  CHECK(ids.headers_allowed(1));
  CHECK(ids.headers_allowed(101));
}

TEST_CASE("a new stream on an id the client skipped is refused", "[http2]") {
  SkippedStreamIds ids;
  CHECK(ids.headers_allowed(5));        // 1 and 3 skipped
  CHECK_FALSE(ids.headers_allowed(3));  // h2spec http2/5.1.1/2
  CHECK_FALSE(ids.headers_allowed(1));
  CHECK(ids.headers_allowed(5));  // the open stream's trailers
  CHECK(ids.headers_allowed(7));
  CHECK(ids.headers_allowed(21));  // 9..19 skipped
  CHECK_FALSE(ids.headers_allowed(9));
  CHECK_FALSE(ids.headers_allowed(19));
  CHECK(ids.headers_allowed(7));
  CHECK(ids.headers_allowed(2));  // even: not a client's id (nghttp2 refuses it)
}

TEST_CASE("only the most recent runs of skipped ids are kept", "[http2]") {
  SkippedStreamIds ids;
  std::int32_t id = 1;
  for (std::size_t gap = 0; gap < SkippedStreamIds::kMaxGaps + 4; ++gap) {
    id += 4;  // skips one id each time
    REQUIRE(ids.headers_allowed(id));
  }
  CHECK(ids.headers_allowed(3));  // the oldest runs are forgotten: nghttp2 decides
  CHECK_FALSE(ids.headers_allowed(id - 2));
}
