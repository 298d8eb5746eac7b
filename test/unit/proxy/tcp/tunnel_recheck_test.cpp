// An open tunnel asks its recheck, at most once per interval, whether it may
// stay open (inbound opaque connections when the policies change): false
// closes both sides at once, counted by no limit of the tunnel's own.

#include <catch2/catch.hpp>
#include <chrono>

#include "proxy/tcp/tunnel.h"
#include "test/unit/proxy/tcp/tunnel_run.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

// Allows the first `allowed` questions, then refuses.
struct CountingRecheck final : TunnelRecheck {
  explicit CountingRecheck(int allowed) : allowed(allowed) {}
  bool still_allowed() override { return ++asked <= allowed; }
  int allowed;
  int asked = 0;
};

}  // namespace

TEST_CASE("a tunnel whose recheck refuses is closed within its interval", "[tunnel]") {
  testing::TunnelRun run;
  CountingRecheck recheck(2);
  run.start({.limit = 1h, .recheck = &recheck, .recheck_interval = 50ms});
  run.io.run_for(5s);
  REQUIRE(run.ended);
  CHECK(recheck.asked == 3);
  CHECK(run.took >= 150ms);
  CHECK(run.took < 2s);
  CHECK(run.idle_closed.value() == 0);
  CHECK(run.silent_closed.value() == 0);
  CHECK_FALSE(run.a.near.is_open());
  CHECK_FALSE(run.b.near.is_open());
}

TEST_CASE("a tunnel whose recheck allows it stays open", "[tunnel]") {
  testing::TunnelRun run;
  CountingRecheck recheck(1000);
  run.start({.limit = 1h, .recheck = &recheck, .recheck_interval = 20ms});
  run.io.run_for(300ms);
  CHECK_FALSE(run.ended);
  CHECK(recheck.asked >= 5);
  CHECK(recheck.asked <= 16);  // at most once per interval
  CHECK(run.a.near.is_open());
  // The peers leave: the tunnel ends before its frame's objects go.
  run.a.far.close();
  run.b.far.close();
  run.io.run_for(2s);
  CHECK(run.ended);
}
