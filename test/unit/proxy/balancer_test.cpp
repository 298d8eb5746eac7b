#include "proxy/routing/balancer.h"

#include <catch2/catch.hpp>
#include <map>

#include "proxy/routing/failure_accrual.h"

using namespace weft::proxy;
using weft::proxyconfig::CircuitBreaker;
using weft::proxyconfig::LoadBalancerAlgorithm;
using namespace std::chrono_literals;

namespace {

std::vector<std::shared_ptr<EndpointState>> endpoints(int n) {
  std::vector<std::shared_ptr<EndpointState>> list;
  for (int i = 0; i < n; ++i) {
    list.push_back(std::make_shared<EndpointState>(
        tcp::endpoint(asio::ip::make_address("10.0.0." + std::to_string(i + 1)), 80)));
  }
  return list;
}

const Clock::time_point kStart = Clock::time_point() + 1h;

}  // namespace

TEST_CASE("round robin visits each endpoint in turn", "[balancer]") {
  Balancer balancer(LoadBalancerAlgorithm::kRoundRobin, std::nullopt, endpoints(3));
  std::mt19937_64 random(1);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    order.push_back(balancer.pick(random, kStart)->address.address().to_string());
  }
  CHECK(order == std::vector<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1",
                                          "10.0.0.2", "10.0.0.3"});
}

TEST_CASE("least request avoids the busy endpoint", "[balancer]") {
  auto list = endpoints(2);
  list[0]->in_flight = 10;
  Balancer balancer(LoadBalancerAlgorithm::kLeastRequest, std::nullopt, list);
  std::mt19937_64 random(1);
  for (int i = 0; i < 20; ++i) CHECK(balancer.pick(random, kStart) == list[1]);
}

TEST_CASE("peak EWMA prefers the faster endpoint and reacts to a slow one", "[balancer]") {
  auto list = endpoints(2);
  Balancer balancer(LoadBalancerAlgorithm::kPeakEwma, std::nullopt, list);
  std::mt19937_64 random(7);
  Clock::time_point now = kStart;
  for (int i = 0; i < 20; ++i) {
    now += 100ms;
    balancer.on_success(*list[0], 5, now);
    balancer.on_success(*list[1], 5, now);
  }
  balancer.on_success(*list[1], 500, now);  // one slow response: the peak counts at once
  CHECK(list[1]->rtt_ewma_ms == Approx(500));
  std::map<EndpointState*, int> picks;
  for (int i = 0; i < 100; ++i) picks[balancer.pick(random, now).get()]++;
  CHECK(picks[list[0].get()] == 100);  // of two, the cheaper one always wins
  // The average decays back towards the fast responses over time.
  for (int i = 0; i < 50; ++i) {
    now += 1s;
    balancer.on_success(*list[1], 5, now);
  }
  CHECK(list[1]->rtt_ewma_ms < 50);
}

TEST_CASE("peak EWMA weighs requests in flight", "[balancer]") {
  auto list = endpoints(2);
  list[0]->rtt_ewma_ms = 10;
  list[1]->rtt_ewma_ms = 10;
  list[0]->in_flight = 3;
  Balancer balancer(LoadBalancerAlgorithm::kPeakEwma, std::nullopt, list);
  std::mt19937_64 random(3);
  CHECK(balancer.pick(random, kStart) == list[1]);
}

TEST_CASE("no endpoints, or all ejected: nothing to pick", "[balancer]") {
  std::mt19937_64 random(1);
  Balancer empty(LoadBalancerAlgorithm::kPeakEwma, std::nullopt, {});
  CHECK(empty.pick(random, kStart) == nullptr);
  auto list = endpoints(2);
  const CircuitBreaker breaker{1, 10s, 60s};
  Balancer balancer(LoadBalancerAlgorithm::kRoundRobin, breaker, list);
  balancer.on_failure(*list[0], kStart);
  balancer.on_failure(*list[1], kStart);
  CHECK(balancer.pick(random, kStart + 1s) == nullptr);
  CHECK(balancer.pick(random, kStart + 11s) != nullptr);
}

TEST_CASE("failure accrual ejects after consecutive failures, with doubling backoff",
          "[failure_accrual]") {
  const CircuitBreaker breaker{3, 10s, 25s};
  FailureAccrual accrual;
  Clock::time_point now = kStart;
  CHECK_FALSE(accrual.on_failure(now, breaker));
  CHECK_FALSE(accrual.on_failure(now, breaker));
  accrual.on_success();  // not consecutive any more
  CHECK_FALSE(accrual.on_failure(now, breaker));
  CHECK_FALSE(accrual.on_failure(now, breaker));
  CHECK(accrual.on_failure(now, breaker));  // third in a row: ejected for 10s
  CHECK_FALSE(accrual.available(now + 9s));
  CHECK(accrual.available(now + 10s));
  now += 10s;
  for (int i = 0; i < 3; ++i) (void)accrual.on_failure(now, breaker);
  CHECK(accrual.ejected_until() == now + 20s);  // doubled
  now += 20s;
  for (int i = 0; i < 3; ++i) (void)accrual.on_failure(now, breaker);
  CHECK(accrual.ejected_until() == now + 25s);  // capped at the maximum
  accrual.on_success();
  now += 25s;
  for (int i = 0; i < 3; ++i) (void)accrual.on_failure(now, breaker);
  CHECK(accrual.ejected_until() == now + 10s);  // a success reset the doubling
}

TEST_CASE("without a circuit breaker an endpoint is never ejected", "[failure_accrual]") {
  FailureAccrual accrual;
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(accrual.on_failure(kStart, std::nullopt));
  CHECK(accrual.available(kStart));
}
