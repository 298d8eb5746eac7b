#include "proxy/layers/timeouts.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;
using namespace std::chrono_literals;

namespace {
const Clock::time_point kStart = Clock::time_point() + 1000h;
}

TEST_CASE("a rule's timeouts: the request's deadline from its start, the per-try limit",
          "[timeouts]") {
  CHECK_FALSE(request_timeouts(nullptr, kStart).deadline);
  proxyconfig::Rule rule;
  CHECK_FALSE(request_timeouts(&rule, kStart).deadline);
  CHECK_FALSE(request_timeouts(&rule, kStart).per_try);
  rule.request_timeout = 300ms;
  rule.backend_request_timeout = 100ms;
  const RequestTimeouts timeouts = request_timeouts(&rule, kStart);
  CHECK(timeouts.deadline == kStart + 300ms);
  CHECK(timeouts.per_try == 100ms);
  CHECK_FALSE(deadline_passed(timeouts, kStart + 299ms));
  CHECK(deadline_passed(timeouts, kStart + 300ms));
  CHECK_FALSE(deadline_passed(RequestTimeouts{}, kStart + 1000h));
}

TEST_CASE("a try's limit is the per-try limit, cut at the request's deadline", "[timeouts]") {
  RequestTimeouts timeouts;
  CHECK_FALSE(try_expiry(timeouts, kStart));
  timeouts.per_try = 100ms;
  CHECK(try_expiry(timeouts, kStart) == kStart + 100ms);
  timeouts.deadline = kStart + 250ms;
  CHECK(try_expiry(timeouts, kStart) == kStart + 100ms);
  CHECK(try_expiry(timeouts, kStart + 200ms) == kStart + 250ms);  // the deadline comes first
  timeouts.per_try.reset();
  CHECK_FALSE(try_expiry_needs_now(timeouts));
  CHECK(try_expiry(timeouts, Clock::time_point{}) == kStart + 250ms);
}

TEST_CASE("the connect phase is cut at the request's deadline", "[timeouts][deadline]") {
  RequestTimeouts timeouts;
  ConnectLimit limit = connect_limit(1s, timeouts, kStart);
  CHECK(limit.expiry == kStart + 1s);
  CHECK_FALSE(limit.by_deadline);
  timeouts.deadline = kStart + 5s;
  CHECK_FALSE(connect_limit(1s, timeouts, kStart).by_deadline);
  // 300 ms left of the request: a hanging connect ends then, as a timeout.
  timeouts.deadline = kStart + 300ms;
  limit = connect_limit(1s, timeouts, kStart);
  CHECK(limit.expiry == kStart + 300ms);
  CHECK(limit.by_deadline);
  // Already past: at once.
  limit = connect_limit(1s, timeouts, kStart + 400ms);
  CHECK(limit.expiry == kStart + 300ms);
  CHECK(limit.by_deadline);
}

TEST_CASE("a client's own deadline caps the route's, whichever comes first", "[timeouts]") {
  RequestTimeouts none;
  cap_by_client_deadline(none, kStart, 300ms);
  CHECK(none.deadline == kStart + 300ms);

  proxyconfig::Rule rule;
  rule.request_timeout = 1s;
  RequestTimeouts shorter = request_timeouts(&rule, kStart);
  cap_by_client_deadline(shorter, kStart, 300ms);
  CHECK(shorter.deadline == kStart + 300ms);

  RequestTimeouts longer = request_timeouts(&rule, kStart);
  cap_by_client_deadline(longer, kStart, 5s);
  CHECK(longer.deadline == kStart + 1s);

  // grpc-timeout allows 99999999 hours (parsed as the longest duration): a year.
  RequestTimeouts huge;
  cap_by_client_deadline(huge, kStart, std::chrono::nanoseconds::max());
  CHECK(huge.deadline == kStart + std::chrono::hours(24 * 365));
}
