// The default response timeout: it applies exactly when the route sets no
// timeout of its own (no route, as inbound traffic; or a rule without one).
#include <catch2/catch.hpp>

#include "proxy/layers/timeouts.h"

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;
using namespace std::chrono_literals;

namespace {
const Clock::time_point kStart = Clock::time_point() + 1000h;
}

TEST_CASE("the default response wait applies without a route or a route timeout", "[timeouts]") {
  CHECK(request_timeouts(nullptr, kStart, 60s).response_wait == 60s);
  CHECK_FALSE(request_timeouts(nullptr, kStart).response_wait);  // none given: none
  proxyconfig::Rule rule;
  CHECK(request_timeouts(&rule, kStart, 60s).response_wait == 60s);
  // Any timeout of the route's own replaces it.
  rule.request_timeout = 300ms;
  CHECK_FALSE(request_timeouts(&rule, kStart, 60s).response_wait);
  rule.request_timeout.reset();
  rule.backend_request_timeout = 100ms;
  const RequestTimeouts timeouts = request_timeouts(&rule, kStart, 60s);
  CHECK_FALSE(timeouts.response_wait);
  CHECK(timeouts.per_try == 100ms);
}
