#include "proxy/http2/write_batch.h"

#include <catch2/catch.hpp>

using weft::proxy::http2::write_now;

TEST_CASE("a lone exchange is sent at once, whatever the batch", "[http2]") {
  CHECK(write_now(true, 1, 0));
  CHECK(write_now(true, 1, 4));
}

TEST_CASE("without a batch, exchanges wait for the end of the turn", "[http2]") {
  for (std::size_t ready = 1; ready <= 1000; ready *= 10) CHECK_FALSE(write_now(false, ready, 0));
}

TEST_CASE("with a batch of 4, every fourth exchange of a turn makes a write", "[http2]") {
  CHECK_FALSE(write_now(false, 1, 4));
  CHECK_FALSE(write_now(false, 3, 4));
  CHECK(write_now(false, 4, 4));
  CHECK(write_now(false, 5, 4));  // the writer had not run yet: still due
  CHECK(write_now(false, 1, 1));
}
