#pragma once

// Endpoint selection for one Service port (MeshPolicy loadBalancer):
//   PeakEWMA (default): of two random available endpoints, the one with the
//     lower cost = latency moving average (jumping up to any slower response,
//     decaying over kEwmaDecay) x (requests in flight + 1), as in Linkerd/Finagle.
//     The average also decays while nothing is observed, so an endpoint that
//     one slow response made costly is tried again in time (and measured)
//     instead of being starved for good;
//   RoundRobin: the next available endpoint;
//   LeastRequest: of two random available endpoints, the one with fewer in flight.
// Every algorithm counts recent failures against an endpoint (FailurePenalty):
// the two-choice costs are multiplied by it, and round robin gives an endpoint
// 1/multiplier of its turns. Ejected endpoints (failure accrual) are skipped;
// none available: nullptr (503).
//
// Each worker has its own balancers (no locks on the request path); endpoint
// state is shared_ptr so a request in flight can report back after a reload,
// and so a reload keeps the state of endpoints that are still listed.

#include <memory>
#include <random>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/routing/failure_accrual.h"
#include "proxy/routing/failure_penalty.h"
#include "weft/proxyconfig/document.h"

namespace weft::proxy {

inline constexpr std::chrono::milliseconds kEwmaDecay{10'000};
inline constexpr double kDefaultRttMs = 30;  // before any response is seen

struct EndpointState {
  explicit EndpointState(tcp::endpoint a) : address(a) {}
  tcp::endpoint address;
  std::uint32_t in_flight = 0;
  double rtt_ewma_ms = kDefaultRttMs;
  Clock::time_point rtt_updated{};
  FailureAccrual accrual;
  FailurePenalty penalty;
  double turn_credit = 0;  // round robin: turns earned, taken at 1

  void observe_rtt(double rtt_ms, Clock::time_point now);
  // The average as of `now`: decayed since the last observation while no
  // request is in flight (none yet: the default, undecayed).
  double rtt_at(Clock::time_point now) const;
  double cost(Clock::time_point now) const { return rtt_at(now) * (in_flight + 1); }
};

class Balancer {
 public:
  Balancer(proxyconfig::LoadBalancerAlgorithm algorithm,
           std::optional<proxyconfig::CircuitBreaker> circuit_breaker,
           std::vector<std::shared_ptr<EndpointState>> endpoints)
      : algorithm_(algorithm),
        circuit_breaker_(std::move(circuit_breaker)),
        endpoints_(std::move(endpoints)) {}

  // `avoid`: the endpoint a retry's previous try failed on, chosen only when
  // no other is available. Right after an endpoint dies its long record of
  // successes keeps its penalty small, and failing fast keeps it cheap, so
  // without this every try of a request could go back to it.
  std::shared_ptr<EndpointState> pick(std::mt19937_64& random, Clock::time_point now,
                                      const EndpointState* avoid = nullptr);

  // Outcome of a request sent to `endpoint` (failure: connection failure,
  // reset, per-try timeout or 5xx).
  void on_success(EndpointState& endpoint, double rtt_ms, Clock::time_point now);
  void on_failure(EndpointState& endpoint, Clock::time_point now);

  const std::vector<std::shared_ptr<EndpointState>>& endpoints() const { return endpoints_; }

 private:
  std::shared_ptr<EndpointState> pick_two(std::mt19937_64& random, Clock::time_point now,
                                          bool by_ewma, const EndpointState* avoid);
  std::shared_ptr<EndpointState> pick_round_robin(Clock::time_point now,
                                                  const EndpointState* avoid);

  proxyconfig::LoadBalancerAlgorithm algorithm_;
  std::optional<proxyconfig::CircuitBreaker> circuit_breaker_;
  std::vector<std::shared_ptr<EndpointState>> endpoints_;
  std::size_t next_ = 0;  // round robin
  std::vector<std::size_t> scratch_;
};

}  // namespace weft::proxy
