#include "proxy/routing/balancer.h"

#include <algorithm>
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

double EndpointState::rtt_at(Clock::time_point now) const {
  // Only while nothing is in flight: an endpoint awaiting an answer is not
  // idle, and one idle for long must not take a burst before its first one.
  if (in_flight > 0 || rtt_updated == Clock::time_point{} || now <= rtt_updated) {
    return rtt_ewma_ms;
  }
  const double elapsed_ms = std::chrono::duration<double, std::milli>(now - rtt_updated).count();
  return rtt_ewma_ms * std::exp(-elapsed_ms / kEwmaDecay.count());
}

std::shared_ptr<EndpointState> Balancer::pick_two(std::mt19937_64& random, Clock::time_point now,
                                                  bool by_ewma, const EndpointState* avoid) {
  scratch_.clear();
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (endpoints_[i]->accrual.available(now)) scratch_.push_back(i);
  }
  if (avoid != nullptr && scratch_.size() > 1) {
    std::erase_if(scratch_, [&](std::size_t i) { return endpoints_[i].get() == avoid; });
  }
  if (scratch_.empty()) return nullptr;
  if (scratch_.size() == 1) return endpoints_[scratch_[0]];
  const std::size_t n = scratch_.size();
  const std::size_t a = random() % n;
  std::size_t b = random() % (n - 1);
  if (b >= a) ++b;  // two distinct endpoints
  const EndpointState& first = *endpoints_[scratch_[a]];
  const EndpointState& second = *endpoints_[scratch_[b]];
  const auto load = [&](const EndpointState& e) {
    const double base = by_ewma ? e.cost(now) : static_cast<double>(e.in_flight + 1);
    return base * e.penalty.multiplier(now);
  };
  return endpoints_[scratch_[load(first) <= load(second) ? a : b]];
}

// Smooth weighting without a random draw: each turn adds 1/multiplier to the
// endpoint's credit and it serves when that reaches 1, so an endpoint whose
// load is doubled by failures serves every other turn. Deterministic, so a
// failing endpoint still reaches its consecutive-failure ejection.
std::shared_ptr<EndpointState> Balancer::pick_round_robin(Clock::time_point now,
                                                          const EndpointState* avoid) {
  std::shared_ptr<EndpointState>* first_available = nullptr;
  std::shared_ptr<EndpointState>* avoided = nullptr;
  for (std::size_t tried = 0; tried < endpoints_.size(); ++tried) {
    auto& candidate = endpoints_[next_++ % endpoints_.size()];
    if (!candidate->accrual.available(now)) continue;
    if (candidate.get() == avoid) {
      avoided = &candidate;
      continue;
    }
    candidate->turn_credit += 1.0 / candidate->penalty.multiplier(now);
    if (candidate->turn_credit >= 1) {
      candidate->turn_credit = std::min(candidate->turn_credit - 1, 1.0);
      return candidate;
    }
    if (first_available == nullptr) first_available = &candidate;
  }
  // Every available endpoint is still earning its turn: the penalty orders
  // endpoints, it never refuses a request.
  if (first_available != nullptr) return *first_available;
  return avoided != nullptr ? *avoided : nullptr;
}

std::shared_ptr<EndpointState> Balancer::pick(std::mt19937_64& random, Clock::time_point now,
                                              const EndpointState* avoid) {
  switch (algorithm_) {
    case proxyconfig::LoadBalancerAlgorithm::kRoundRobin:
      return pick_round_robin(now, avoid);
    case proxyconfig::LoadBalancerAlgorithm::kLeastRequest:
      return pick_two(random, now, false, avoid);
    case proxyconfig::LoadBalancerAlgorithm::kPeakEwma:
      break;
  }
  return pick_two(random, now, true, avoid);
}

void Balancer::on_success(EndpointState& endpoint, double rtt_ms, Clock::time_point now) {
  endpoint.observe_rtt(rtt_ms, now);
  endpoint.accrual.on_success();
  endpoint.penalty.on_success(now);
}

void Balancer::on_failure(EndpointState& endpoint, Clock::time_point now) {
  endpoint.accrual.on_failure(now, circuit_breaker_);
  endpoint.penalty.on_failure(now);
}

}  // namespace weft::proxy
