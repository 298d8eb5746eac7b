#pragma once

// A worker's view of the configuration: the snapshot it routes with, and the
// balancers and retry budgets built for it. Refreshed when the store's
// generation changes; endpoint state (latency, ejections) and budgets carry
// over to the new snapshot for endpoints and routes that remain. Used by one
// worker thread only, so nothing here is locked.

#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>

#include "proxy/config/config_store.h"
#include "proxy/routing/balancer.h"
#include "proxy/routing/retry_budget.h"

namespace weft::proxy {

class WorkerRoutes {
 public:
  explicit WorkerRoutes(ConfigStore& store);

  // The current snapshot (null before any document), refreshed if needed.
  const std::shared_ptr<const Snapshot>& snapshot();
  // For a target of the current snapshot. Shared: a request keeps it alive.
  std::shared_ptr<Balancer> balancer(const ServiceTarget& target);
  std::shared_ptr<RetryBudget> retry_budget(const ServiceTarget& target,
                                            const proxyconfig::Rule& rule);
  std::mt19937_64& random() { return random_; }
  // The store's compiled inbound policies, refreshed when they change (one
  // atomic load per call, the pointer copied only then).
  const std::shared_ptr<const authz::InboundPolicies>& policies() {
    const std::uint64_t generation = store_.policy_generation();
    if (generation != policy_generation_ || !policies_) {
      policy_generation_ = generation;
      policies_ = store_.policies();
    }
    return policies_;
  }
  std::uint64_t policy_generation() const { return store_.policy_generation(); }

 private:
  void rebuild();

  ConfigStore& store_;
  std::uint64_t generation_ = ~std::uint64_t{0};
  std::shared_ptr<const Snapshot> snapshot_;
  std::unordered_map<const ServiceTarget*, std::shared_ptr<Balancer>> balancers_;
  // "target|address:port" -> state, kept across snapshots while listed.
  std::map<std::string, std::shared_ptr<EndpointState>> endpoint_states_;
  // "target|route|rule" -> budget.
  std::map<std::string, std::shared_ptr<RetryBudget>> budgets_;
  std::mt19937_64 random_{std::random_device{}()};
  std::uint64_t policy_generation_ = 0;
  std::shared_ptr<const authz::InboundPolicies> policies_;
};

}  // namespace weft::proxy
