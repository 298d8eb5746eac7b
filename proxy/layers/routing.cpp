#include "proxy/layers/routing.h"

#include "proxy/routing/router.h"

namespace weft::proxy {

Plan plan_route(WorkerRoutes& routes, const ConnectionTarget& target,
                std::string_view destination_text, const Request& request) {
  Plan plan;
  plan.snapshot = routes.snapshot();
  const ServiceTarget* service = nullptr;
  if (target.direction == Direction::kOutbound && plan.snapshot) {
    service = plan.snapshot->find_by_destination(target.destination);
  }
  if (service == nullptr) {
    // Another namespace's meshed Service: named, though not routed here.
    const OtherNamespaceTarget* other =
        target.direction == Direction::kOutbound && plan.snapshot
            ? plan.snapshot->find_other_namespace(target.destination)
            : nullptr;
    plan.target_label = other ? std::string_view(other->label) : destination_text;
    return plan;
  }
  plan.target_label = service->label;
  const RouteSelection selection = select_route(*service, request);
  if (selection.no_match) {
    plan.local = {404, "no route matches the request"};
    return plan;
  }
  plan.backend = service;
  if (selection.rule != nullptr) {
    plan.rule = selection.rule;
    plan.route_label = selection.rule->route;
    plan.route_rule_label = std::to_string(selection.rule->route_rule);
    const proxyconfig::Backend* backend = pick_backend(*selection.rule, routes.random()());
    const ServiceTarget* backend_target =
        backend ? plan.snapshot->find_by_name(backend->service, backend->port) : nullptr;
    if (backend_target == nullptr) {
      plan.local = {503, "the route's backend Service is not known"};
      return plan;
    }
    plan.backend = backend_target;
    plan.backend_label = backend_target->label;
    if (selection.rule->retry) plan.budget = routes.retry_budget(*service, *selection.rule);
  }
  plan.balancer = routes.balancer(*plan.backend);
  return plan;
}

}  // namespace weft::proxy
