#include "proxy/routing/balancer.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <queue>

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

TEST_CASE("peak EWMA tries an endpoint again once its peak has decayed", "[balancer]") {
  // One slow response, then nothing: without decay while unobserved, the
  // endpoint would lose every draw for good.
  auto list = endpoints(2);
  Balancer balancer(LoadBalancerAlgorithm::kPeakEwma, std::nullopt, list);
  std::mt19937_64 random(5);
  Clock::time_point now = kStart;
  balancer.on_success(*list[1], 500, now);
  std::optional<Clock::duration> picked_again;
  for (int i = 1; i <= 600 && !picked_again; ++i) {
    now += 100ms;
    const auto endpoint = balancer.pick(random, now);
    if (endpoint == list[1]) picked_again = now - kStart;
    balancer.on_success(*list[0], 5, now);
  }
  REQUIRE(picked_again);
  // 500 ms decays below the other's 5 ms in about 10 s x ln(100): 46 s.
  CHECK(*picked_again > 40s);
  CHECK(*picked_again < 50s);
  CHECK(list[1]->rtt_at(kStart) == Approx(500));
  list[1]->in_flight = 0;
  CHECK(list[1]->rtt_at(kStart + 10s) == Approx(500 / std::exp(1.0)));
  // With a request in flight it is not idle: no decay until its answer.
  list[1]->in_flight = 1;
  CHECK(list[1]->rtt_at(kStart + 10s) == Approx(500));
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

TEST_CASE("round robin gives a failing endpoint fewer turns, and still ejects it", "[balancer]") {
  auto list = endpoints(2);
  const CircuitBreaker breaker{2, 60s, 60s};
  Balancer balancer(LoadBalancerAlgorithm::kRoundRobin, breaker, list);
  std::mt19937_64 random(1);
  Clock::time_point now = kStart;
  std::vector<int> to_bad;
  for (int i = 0; i < 20; ++i) {
    now += 10ms;
    const auto endpoint = balancer.pick(random, now);
    if (endpoint == list[1]) {
      to_bad.push_back(i);
      balancer.on_failure(*endpoint, now);
    } else {
      balancer.on_success(*endpoint, 5, now);
    }
  }
  // Its first turn, then a later one (its penalty stretched the wait), then
  // the second consecutive failure ejects it.
  REQUIRE(to_bad.size() == 2);
  CHECK(to_bad[0] == 1);
  CHECK(to_bad[1] > 3);
  CHECK_FALSE(list[1]->accrual.available(now));
}

// ---- failures in the choice ------------------------------------------------
//
// A simulated client: requests arrive at random (Poisson, one every 5 ms on
// average, so several overlap), each goes through pick(), holds its endpoint's
// in_flight until it completes, then reports on_success/on_failure at its
// completion time. Endpoint A answers in 10 ms; endpoint B answers in 5 ms,
// except that while `b_fails` every fifth request it gets fails after 1 ms.

namespace {

struct Shares {
  int a = 0;
  int b = 0;
  double b_share() const { return static_cast<double>(b) / (a + b); }
};

class Simulation {
 public:
  explicit Simulation(LoadBalancerAlgorithm algorithm) : list_(endpoints(2)) {
    balancer_.emplace(algorithm, std::nullopt, list_);
  }

  Shares run(int requests, bool b_fails) {
    Shares shares;
    std::exponential_distribution<double> gap_ms(1.0 / 5);
    for (int i = 0; i < requests; ++i) {
      now_ += std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double, std::milli>(gap_ms(random_)));
      complete_until(now_);
      const auto endpoint = balancer_->pick(random_, now_);
      if (endpoint == nullptr) FAIL("no endpoint picked");
      ++endpoint->in_flight;
      const bool is_b = endpoint == list_[1];
      (is_b ? shares.b : shares.a)++;
      const bool failed = is_b && b_fails && ++b_requests_ % 5 == 0;
      const double latency_ms = !is_b ? 10 : failed ? 1 : 5;
      pending_.push({now_ + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double, std::milli>(latency_ms)),
                     endpoint.get(), failed, latency_ms});
    }
    return shares;
  }

 private:
  struct Completion {
    Clock::time_point at;
    EndpointState* endpoint;
    bool failed;
    double latency_ms;
    bool operator>(const Completion& other) const { return at > other.at; }
  };

  void complete_until(Clock::time_point until) {
    while (!pending_.empty() && pending_.top().at <= until) {
      const Completion done = pending_.top();
      pending_.pop();
      --done.endpoint->in_flight;
      if (done.failed) {
        balancer_->on_failure(*done.endpoint, done.at);
      } else {
        balancer_->on_success(*done.endpoint, done.latency_ms, done.at);
      }
    }
  }

  std::vector<std::shared_ptr<EndpointState>> list_;
  std::optional<Balancer> balancer_;
  std::mt19937_64 random_{42};
  Clock::time_point now_ = kStart;
  int b_requests_ = 0;
  std::priority_queue<Completion, std::vector<Completion>, std::greater<>> pending_;
};

}  // namespace

TEST_CASE("an endpoint failing a fifth of its requests fast gets less traffic than a slower one",
          "[balancer]") {
  const auto algorithm =
      GENERATE(LoadBalancerAlgorithm::kPeakEwma, LoadBalancerAlgorithm::kRoundRobin,
               LoadBalancerAlgorithm::kLeastRequest);
  CAPTURE(static_cast<int>(algorithm));
  Simulation simulation(algorithm);
  const Shares shares = simulation.run(20'000, true);  // 100 s
  CAPTURE(shares.a, shares.b);
  CHECK(shares.b_share() < 0.35);
  CHECK(shares.b > 0);  // less, not none: its requests still tell when it recovers
}

TEST_CASE("an endpoint that stops failing gets its share back", "[balancer]") {
  const auto algorithm =
      GENERATE(LoadBalancerAlgorithm::kPeakEwma, LoadBalancerAlgorithm::kRoundRobin,
               LoadBalancerAlgorithm::kLeastRequest);
  CAPTURE(static_cast<int>(algorithm));
  // What B gets when it never failed: more than A with latency-aware
  // algorithms (it is twice as fast), half with round robin.
  Simulation healthy(algorithm);
  (void)healthy.run(20'000, false);
  const Shares healthy_share = healthy.run(10'000, false);
  CAPTURE(healthy_share.a, healthy_share.b);

  Simulation recovering(algorithm);
  (void)recovering.run(20'000, true);   // 100 s failing
  (void)recovering.run(12'000, false);  // 60 s to forget
  const Shares back = recovering.run(10'000, false);
  CAPTURE(back.a, back.b);
  CHECK(back.b_share() > healthy_share.b_share() - 0.05);
}

// The e2e alertflow scenario A: one of two endpoints dies (its connects are
// refused at once) while the other is busy with a request. Its 10 s of
// successes keep its penalty small and failing fast keeps it cheap, so the
// five tries of a request all went to it (a 502 after four retries).
TEST_CASE("a retry leaves the endpoint its previous try failed on", "[balancer]") {
  auto list = endpoints(2);
  Balancer balancer(LoadBalancerAlgorithm::kPeakEwma, std::nullopt, list);
  std::mt19937_64 random(5);
  Clock::time_point now = kStart;
  for (int i = 0; i < 250; ++i) {  // 25 requests/s each for 10 s, 2 ms each
    now += 40ms;
    balancer.on_success(*list[0], 2, now);
    balancer.on_success(*list[1], 2, now);
  }
  const EndpointState& dead = *list[0];
  list[1]->in_flight = 1;  // the live one is answering another request
  const auto five_tries = [&](bool avoid_failed) {
    Clock::time_point at = now + 500ms;
    const EndpointState* failed = nullptr;
    int on_dead = 0;
    for (int attempt = 0; attempt < 5; ++attempt, at += 10ms) {
      const auto endpoint = balancer.pick(random, at, avoid_failed ? failed : nullptr);
      if (endpoint.get() != &dead) break;  // answered
      ++on_dead;
      balancer.on_failure(*endpoint, at);  // connect refused
      failed = endpoint.get();
    }
    return on_dead;
  };
  CHECK(five_tries(false) == 5);  // the gap: every try on the dead endpoint
  CHECK(five_tries(true) <= 1);   // the first retry goes to the live one
}

TEST_CASE("the avoided endpoint only when no other is available", "[balancer]") {
  std::mt19937_64 random(1);
  for (const auto algorithm :
       {LoadBalancerAlgorithm::kPeakEwma, LoadBalancerAlgorithm::kLeastRequest,
        LoadBalancerAlgorithm::kRoundRobin}) {
    auto list = endpoints(3);
    Balancer balancer(algorithm, CircuitBreaker{1, 60s, 60s}, list);
    for (int i = 0; i < 30; ++i) CHECK(balancer.pick(random, kStart, list[1].get()) != list[1]);
    balancer.on_failure(*list[0], kStart);  // ejected
    balancer.on_failure(*list[2], kStart);
    CHECK(balancer.pick(random, kStart + 1s, list[1].get()) == list[1]);
  }
}
