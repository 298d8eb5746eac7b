// The tunnel left by an exception (an allocation failure, injected) while its
// second direction is running: the tunnel closes both sockets and waits for
// that direction to end before its own frame goes, so the exception reaches
// the caller only once nothing runs on the frame any more. Then the loop runs
// to its end: under the asan preset, nothing touches freed memory.

#include "proxy/tcp/tunnel.h"

#include <catch2/catch.hpp>
#include <new>

#include "../failing_allocation.h"
#include "test/unit/proxy/loopback_pair.h"

using namespace weft::proxy;

namespace {

using testing::connect_pair;
using testing::Connected;

}  // namespace

TEST_CASE("a tunnel left by an exception joins its other direction first", "[tunnel]") {
  asio::io_context io;
  Connected a = connect_pair(io);
  Connected b = connect_pair(io);
  bool caught = false;
  bool closed_when_caught = false;
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        // The read buffers are the only allocations this large (16 KiB,
        // taken for each read attempt and given back when nothing came):
        // both directions take one and wait, then the byte below wakes this
        // one, whose next buffer fails while the other direction waits.
        testing::fail_allocation(16 * 1024, 2);
        try {
          co_await tunnel(a.near, {}, b.near, {});
        } catch (const std::bad_alloc&) {
          caught = true;
          closed_when_caught = !a.near.is_open() && !b.near.is_open();
        }
      },
      asio::detached);
  Timer later(io);
  later.expires_after(std::chrono::milliseconds(100));
  later.async_wait([&](error_code) { asio::write(a.far, asio::buffer("x", 1)); });
  io.run_for(std::chrono::seconds(2));
  testing::disarm_allocation_failure();
  CHECK(testing::allocation_failed());
  REQUIRE(caught);
  CHECK(closed_when_caught);
  // The peers go; whatever still waited on the sockets ends.
  a.far.close();
  b.far.close();
  io.restart();
  io.run_for(std::chrono::seconds(2));
  CHECK(io.stopped());
}
