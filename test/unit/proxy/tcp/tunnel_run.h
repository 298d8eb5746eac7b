#pragma once

// A tunnel between two loopback connections, run on an io_context of its
// own, for the tests of the tunnel's limits: `a` is the client's side, `b` the
// app's; each limit counts into its counter here, and `ended` and `took` say
// when the tunnel returned.

#include <chrono>
#include <optional>
#include <string_view>

#include "proxy/tcp/tunnel.h"
#include "test/unit/proxy/loopback_pair.h"
#include "weft/metrics.h"

namespace weft::proxy::testing {

struct TunnelRun {
  using Clock = std::chrono::steady_clock;

  asio::io_context io;
  Connected a = connect_pair(io);  // the client's side
  Connected b = connect_pair(io);  // the app's side
  weft::Counter idle_closed;
  weft::Counter silent_closed;
  weft::Counter half_closed;
  bool ended = false;
  Clock::duration took{};

  // Starts the tunnel with `limits` (their counters are these) and, if
  // `silent_for` is set, a silent limit that long after now; `a_pending`:
  // bytes the client sent before the tunnel.
  void start(TunnelIdle limits, std::optional<Clock::duration> silent_for = std::nullopt,
             std::string_view a_pending = {}) {
    const auto started = Clock::now();
    limits.closed = &idle_closed;
    limits.silent_closed = &silent_closed;
    limits.half_closed = &half_closed;
    if (silent_for) limits.silent_until = started + *silent_for;
    asio::co_spawn(
        io.get_executor(),
        [this, started, limits, a_pending]() -> awaitable<void> {
          co_await tunnel(a.near, a_pending, b.near, {}, limits);
          ended = true;
          took = Clock::now() - started;
        },
        asio::detached);
  }
};

}  // namespace weft::proxy::testing
