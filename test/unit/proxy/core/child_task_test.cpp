// ChildTask: join() returns once the child ended (at once when none runs) and
// passes on what the child threw. Its use by a parent that throws is tested
// where it is used: tcp/tunnel_test.cpp, http1/server_test.cpp.

#include "proxy/core/child_task.h"

#include <catch2/catch.hpp>
#include <new>
#include <stdexcept>

#include "../failing_allocation.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

awaitable<void> sleep_then(std::chrono::milliseconds delay, bool& ran, bool fail) {
  Timer timer(co_await asio::this_coro::executor);
  timer.expires_after(delay);
  co_await timer.async_wait(use_awaitable);
  ran = true;
  if (fail) throw std::runtime_error("the child failed");
}

}  // namespace

TEST_CASE("join waits for the child and passes on its exception", "[child_task]") {
  asio::io_context io;
  bool ran = false;
  bool joined_after_child = false;
  std::string child_error;
  const bool fail = GENERATE(false, true);
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        ChildTask child(io.get_executor());
        co_await child.join();  // none running: at once
        child.spawn(sleep_then(30ms, ran, fail));
        CHECK(child.running());
        try {
          co_await child.join();
        } catch (const std::runtime_error& e) {
          child_error = e.what();
        }
        joined_after_child = ran && !child.running();
      },
      asio::detached);
  io.run();
  CHECK(joined_after_child);
  CHECK(child_error == (fail ? "the child failed" : ""));
}

TEST_CASE("a child that cannot be started is not waited for", "[child_task]") {
  asio::io_context io;
  bool ran = false;
  ChildTask child(io.get_executor());
  awaitable<void> task = sleep_then(1ms, ran, false);
  // Outside the loop, co_spawn's own allocations go to operator new: the first fails.
  weft::proxy::testing::fail_allocation(1);
  CHECK_THROWS_AS(child.spawn(std::move(task)), std::bad_alloc);
  weft::proxy::testing::disarm_allocation_failure();
  CHECK_FALSE(child.running());
  bool joined = false;
  asio::co_spawn(
      io.get_executor(),
      [&]() -> awaitable<void> {
        co_await child.join();
        joined = true;
      },
      asio::detached);
  io.run_for(2s);
  CHECK(joined);
  CHECK_FALSE(ran);
}
