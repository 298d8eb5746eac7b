#include "proxy/routing/worker_routes.h"

namespace weft::proxy {
namespace {

std::string endpoint_key(const ServiceTarget& target, const tcp::endpoint& endpoint) {
  return target.label + "|" + endpoint.address().to_string() + ":" +
         std::to_string(endpoint.port());
}

std::string budget_key(const ServiceTarget& target, const proxyconfig::Rule& rule) {
  return target.label + "|" + rule.route + "|" + std::to_string(rule.route_rule);
}

}  // namespace

WorkerRoutes::WorkerRoutes(ConfigStore& store) : store_(store) {}

const std::shared_ptr<const Snapshot>& WorkerRoutes::snapshot() {
  if (store_.generation() != generation_) rebuild();
  return snapshot_;
}

void WorkerRoutes::rebuild() {
  generation_ = store_.generation();
  snapshot_ = store_.current();
  balancers_.clear();
  std::map<std::string, std::shared_ptr<EndpointState>> states;
  std::map<std::string, std::shared_ptr<RetryBudget>> budgets;
  if (snapshot_) {
    for (const ServiceTarget& target : snapshot_->targets()) {
      std::vector<std::shared_ptr<EndpointState>> endpoints;
      for (const tcp::endpoint& endpoint : target.endpoints) {
        const std::string key = endpoint_key(target, endpoint);
        auto found = endpoint_states_.find(key);
        auto state = found != endpoint_states_.end() ? found->second
                                                     : std::make_shared<EndpointState>(endpoint);
        states[key] = state;
        endpoints.push_back(std::move(state));
      }
      balancers_[&target] = std::make_shared<Balancer>(
          target.port->load_balancer, target.port->circuit_breaker, std::move(endpoints));
      for (const proxyconfig::Rule& rule : target.port->rules) {
        if (!rule.retry) continue;
        const std::string key = budget_key(target, rule);
        auto found = budgets_.find(key);
        budgets[key] = found != budgets_.end() ? found->second
                                               : std::make_shared<RetryBudget>(rule.retry->budget);
      }
    }
  }
  endpoint_states_ = std::move(states);
  budgets_ = std::move(budgets);
}

std::shared_ptr<Balancer> WorkerRoutes::balancer(const ServiceTarget& target) {
  const auto found = balancers_.find(&target);
  return found == balancers_.end() ? nullptr : found->second;
}

std::shared_ptr<RetryBudget> WorkerRoutes::retry_budget(const ServiceTarget& target,
                                                        const proxyconfig::Rule& rule) {
  const auto found = budgets_.find(budget_key(target, rule));
  return found == budgets_.end() ? nullptr : found->second;
}

}  // namespace weft::proxy
