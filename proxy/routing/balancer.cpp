#include "proxy/routing/balancer.h"

#include <cmath>

namespace weft::proxy {

void EndpointState::observe_rtt(double rtt_ms, Clock::time_point now) {
  if (rtt_ms > rtt_ewma_ms) {
    rtt_ewma_ms = rtt_ms;  // peak: react at once to a slower endpoint
  } else {
    const double elapsed_ms = std::chrono::duration<double, std::milli>(now - rtt_updated).count();
    const double weight = std::exp(-std::max(0.0, elapsed_ms) / kEwmaDecay.count());
    rtt_ewma_ms = rtt_ewma_ms * weight + rtt_ms * (1 - weight);
  }
  rtt_updated = now;
}

std::shared_ptr<EndpointState> Balancer::pick_two(std::mt19937_64& random, Clock::time_point now,
                                                  bool by_ewma) {
  scratch_.clear();
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i]->accrual.available(now)) scratch_.push_back(i);
  }
  if (scratch_.empty()) return nullptr;
  if (scratch_.size() == 1) return endpoints_[scratch_[0]];
  const std::size_t n = scratch_.size();
  const std::size_t a = random() % n;
  std::size_t b = random() % (n - 1);
  if (b >= a) ++b;  // two distinct endpoints
  const EndpointState& first = *endpoints_[scratch_[a]];
  const EndpointState& second = *endpoints_[scratch_[b]];
  const bool first_wins =
      by_ewma ? first.cost() <= second.cost() : first.in_flight <= second.in_flight;
  return endpoints_[scratch_[first_wins ? a : b]];
}

std::shared_ptr<EndpointState> Balancer::pick(std::mt19937_64& random, Clock::time_point now) {
  switch (algorithm_) {
    case proxyconfig::LoadBalancerAlgorithm::kRoundRobin:
      for (std::size_t tried = 0; tried < endpoints_.size(); ++tried) {
        auto& candidate = endpoints_[next_++ % endpoints_.size()];
        if (candidate->accrual.available(now)) return candidate;
      }
      return nullptr;
    case proxyconfig::LoadBalancerAlgorithm::kLeastRequest:
      return pick_two(random, now, false);
    case proxyconfig::LoadBalancerAlgorithm::kPeakEwma:
      break;
  }
  return pick_two(random, now, true);
}

void Balancer::on_success(EndpointState& endpoint, double rtt_ms, Clock::time_point now) {
  endpoint.observe_rtt(rtt_ms, now);
  endpoint.accrual.on_success();
}

void Balancer::on_failure(EndpointState& endpoint, Clock::time_point now) {
  endpoint.accrual.on_failure(now, circuit_breaker_);
}

}  // namespace weft::proxy
