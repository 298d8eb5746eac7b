#include "proxy/layers/balancing.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;
using namespace std::chrono_literals;

namespace {
const Clock::time_point kNow = Clock::time_point() + 1000h;

Balancer one_endpoint(std::optional<proxyconfig::CircuitBreaker> breaker = std::nullopt) {
  return Balancer(
      proxyconfig::LoadBalancerAlgorithm::kRoundRobin, breaker,
      {std::make_shared<EndpointState>(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 8080))});
}
}  // namespace

TEST_CASE("what a try tells the balancer about its endpoint", "[balancing]") {
  CHECK(feedback_of(TryFailure::kNone, 200) == EndpointFeedback::kSuccess);
  CHECK(feedback_of(TryFailure::kNone, 404) == EndpointFeedback::kSuccess);
  CHECK(feedback_of(TryFailure::kNone, 503) == EndpointFeedback::kFailure);
  CHECK(feedback_of(TryFailure::kConnect, 0) == EndpointFeedback::kFailure);
  CHECK(feedback_of(TryFailure::kReset, 0) == EndpointFeedback::kFailure);
  CHECK(feedback_of(TryFailure::kTimeout, 0) == EndpointFeedback::kFailure);
  CHECK(feedback_of(TryFailure::kBadResponse, 0) == EndpointFeedback::kFailure);
  CHECK(feedback_of(TryFailure::kClientGone, 0) == EndpointFeedback::kNone);
}

TEST_CASE("a chosen endpoint is in flight until its try is reported", "[balancing]") {
  Balancer balancer = one_endpoint();
  std::mt19937_64 random(1);
  const auto endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  CHECK(endpoint->in_flight == 1);
  report_try(balancer, *endpoint, TryFailure::kNone, 200, kNow, kNow + 80ms);
  CHECK(endpoint->in_flight == 0);
}

TEST_CASE("failures reported count towards ejection; a departed client does not", "[balancing]") {
  Balancer balancer = one_endpoint(proxyconfig::CircuitBreaker{
      .consecutive_failures = 2, .ejection_time = 10s, .max_ejection_time = 10s});
  std::mt19937_64 random(1);
  auto endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  report_try(balancer, *endpoint, TryFailure::kClientGone, 0, kNow, kNow);
  endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  report_try(balancer, *endpoint, TryFailure::kNone, 503, kNow, kNow);
  endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  report_try(balancer, *endpoint, TryFailure::kConnect, 0, kNow, kNow);
  CHECK_FALSE(choose_endpoint(balancer, random, kNow));  // ejected
}
