#include "operator/config_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "operator/default_inbound_policy.h"
#include "weft/proxyconfig/enums.h"

namespace weft::op {
namespace {

namespace pc = weft::proxyconfig;

std::string port_label(const std::string& service, std::uint16_t port) {
  return fmt::format("{}:{}", service, port);
}

const ServiceModel* find_service(const NamespaceInput& input, const std::string& name) {
  for (const auto& service : input.services) {
    if (service->meta.name == name) return service.get();
  }
  return nullptr;
}

const ServicePortModel* find_port(const ServiceModel& service, std::uint16_t port) {
  for (const auto& candidate : service.ports) {
    if (candidate.port == port) return &candidate;
  }
  return nullptr;
}

// ExternalName Services have no endpoints to balance over; UDP/SCTP ports are
// not proxied.
bool in_table(const ServiceModel& service) {
  return service.type != "ExternalName";
}
bool proxied(const ServicePortModel& port) {
  return port.protocol == "TCP";
}

// ---- MeshPolicy precedence (docs/crds.md) -------------------------------------

int policy_rank(const MeshPolicyModel& policy) {
  if (policy.target) return policy.target->port ? 0 : 1;
  return 2;
}
bool policy_before(const MeshPolicyModel* a, const MeshPolicyModel* b) {
  return std::make_tuple(policy_rank(*a), a->meta.creation_timestamp, a->meta.name) <
         std::make_tuple(policy_rank(*b), b->meta.creation_timestamp, b->meta.name);
}

// Whether the policy applies to traffic to this Service port. A podSelector
// policy applies when it selects every pod the Service selects, judged from the
// Service's selector (the operator does not list pods' labels).
bool covers(const MeshPolicyModel& policy, const ServiceModel& service,
            const ServicePortModel& port) {
  if (policy.target) {
    return policy.target->name == service.meta.name &&
           (!policy.target->port || *policy.target->port == port.port);
  }
  return policy.pod_selector && !service.selector.empty() &&
         selector_matches(*policy.pod_selector, service.selector);
}

enum class Section { kMtls, kAuthorization, kRateLimit, kCircuitBreaker, kLoadBalancer };
constexpr Section kSections[] = {Section::kMtls, Section::kAuthorization, Section::kRateLimit,
                                 Section::kCircuitBreaker, Section::kLoadBalancer};

std::string_view section_name(Section section) {
  switch (section) {
    case Section::kMtls:
      return "mtls";
    case Section::kAuthorization:
      return "authorization";
    case Section::kRateLimit:
      return "rateLimit";
    case Section::kCircuitBreaker:
      return "circuitBreaker";
    case Section::kLoadBalancer:
      return "loadBalancer";
  }
  return "";
}

bool sets(const MeshPolicyModel& policy, Section section) {
  switch (section) {
    case Section::kMtls:
      return policy.mtls.has_value();
    case Section::kAuthorization:
      return policy.authorization.has_value();
    case Section::kRateLimit:
      return policy.rate_limit.has_value();
    case Section::kCircuitBreaker:
      return policy.circuit_breaker.has_value();
    case Section::kLoadBalancer:
      return policy.load_balancer.has_value();
  }
  return false;
}

// ---- MeshRoute precedence (Gateway API order, docs/crds.md) --------------------

struct RankedMatch {
  pc::RouteMatch match;
  std::optional<GrpcMethodMatch> grpc_method;  // set for a grpcMethod match
  const MeshRouteModel* route;
  std::size_t rule_in_route;
  std::size_t match_in_rule;
};

// gRPC matches first: they hold only for gRPC requests, which they describe
// more closely than any path does. Among them, GRPCRoute's order: Exact
// before RegularExpression, then the longer service, then the longer method
// (so "service and method" before "service only" before "method only").
// HTTP matches after, in HTTPRoute's order: Exact paths first; then prefixes
// and regular expressions by length of their value, longest first (a prefix
// before a regex of equal length), so a catch-all "/" prefix comes after any
// regex; then method. Then, for both, more headers, more query parameters;
// then the older route, the route name, rule and match order.
bool match_before(const RankedMatch& a, const RankedMatch& b) {
  const auto key = [](const RankedMatch& m) {
    const auto length = [](const std::string& text) { return -static_cast<long>(text.size()); };
    const bool exact = m.match.path.type == pc::PathMatchType::kExact;
    const bool regex = m.match.path.type == pc::PathMatchType::kRegularExpression;
    const auto& grpc = m.grpc_method;
    // Each part of the key is neutral (0) for the other kind of match.
    const auto grpc_key = grpc
                              ? std::make_tuple(0, grpc->type == pc::ValueMatchType::kExact ? 0 : 1,
                                                length(grpc->service), length(grpc->method))
                              : std::make_tuple(1, 0, 0L, 0L);
    const auto http_key = grpc ? std::make_tuple(0, 0L, 0, 0)
                               : std::make_tuple(exact ? 0 : 1, length(m.match.path.value),
                                                 regex ? 1 : 0, m.match.method ? 0 : 1);
    return std::tuple_cat(
        grpc_key, http_key,
        std::make_tuple(-static_cast<long>(m.match.headers.size()),
                        -static_cast<long>(m.match.query_params.size()),
                        std::cref(m.route->meta.creation_timestamp), std::cref(m.route->meta.name),
                        m.rule_in_route, m.match_in_rule));
  };
  return key(a) < key(b);
}

struct PortRoutes {
  std::vector<pc::Rule> rules;
  std::vector<RankedMatch> matches;
};

std::vector<std::uint16_t> target_ports(const ServiceModel& service, const ServicePortModel& port,
                                        const NamespaceInput& input) {
  if (port.target_port_number) return {*port.target_port_number};
  // A named targetPort is resolved per pod; the EndpointSlices carry the numbers.
  std::set<std::uint16_t> numbers;
  for (const auto& slice : input.endpoint_slices) {
    if (slice->service != service.meta.name) continue;
    for (const auto& slice_port : slice->ports) {
      if (slice_port.name == port.name && slice_port.port) numbers.insert(*slice_port.port);
    }
  }
  return {numbers.begin(), numbers.end()};
}

// Pod name -> pod, built once per namespace.
using PodIndex = std::map<std::string, const PodModel*>;
PodIndex pods_by_name(const NamespaceInput& input) {
  PodIndex out;
  for (const auto& pod : input.pods) out[pod->meta.name] = pod.get();
  return out;
}

std::vector<pc::Endpoint> ready_endpoints(const ServiceModel& service, const ServicePortModel& port,
                                          const NamespaceInput& input, const PodIndex& pods) {
  const auto& identity = input.identity.config;
  std::vector<pc::Endpoint> ready;
  std::vector<pc::Endpoint> serving_terminating;
  std::set<std::pair<std::string, std::uint16_t>> seen_ready, seen_terminating;
  for (const auto& slice : input.endpoint_slices) {
    if (slice->service != service.meta.name) continue;
    if (slice->address_type != "IPv4" && slice->address_type != "IPv6") continue;
    for (const auto& slice_port : slice->ports) {
      // Slice ports are named like the Service ports they serve.
      if (slice_port.name != port.name || slice_port.protocol != port.protocol ||
          !slice_port.port) {
        continue;
      }
      for (const auto& endpoint : slice->endpoints) {
        const bool use_ready = endpoint.ready;
        const bool use_terminating = !endpoint.ready && endpoint.serving && endpoint.terminating;
        if (!use_ready && !use_terminating) continue;
        std::string account;
        std::string spiffe;
        bool opaque = false;
        if (const auto it = pods.find(endpoint.pod); it != pods.end()) {
          account = it->second->service_account;
          // Only a meshed pod has a proxy to prove the identity; the others
          // are reached in plaintext.
          if (identity && it->second->meshed) {
            spiffe = spiffe_id(identity->trust_domain, input.ns, account);
          }
          opaque = it->second->opaque_ports.contains(*slice_port.port);
        }
        for (const auto& address : endpoint.addresses) {
          pc::Endpoint out{address,       *slice_port.port, account, endpoint.pod,
                           endpoint.zone, spiffe,           opaque};
          auto& seen = use_ready ? seen_ready : seen_terminating;
          if (!seen.emplace(address, *slice_port.port).second) continue;
          (use_ready ? ready : serving_terminating).push_back(std::move(out));
        }
      }
    }
  }
  auto& chosen = ready.empty() ? serving_terminating : ready;
  std::sort(chosen.begin(), chosen.end(), [](const pc::Endpoint& a, const pc::Endpoint& b) {
    return std::tie(a.address, a.port) < std::tie(b.address, b.port);
  });
  return std::move(chosen);
}

}  // namespace

std::vector<pc::Endpoint> ready_endpoints(const ServiceModel& service, const ServicePortModel& port,
                                          const NamespaceInput& input) {
  return ready_endpoints(service, port, input, pods_by_name(input));
}

bool NamespaceInput::meshed() const {
  if (!namespace_object || ns == "kube-system" || ns == kControlPlaneNamespace) return false;
  if (namespace_object->meshed) return true;
  return std::any_of(pods.begin(), pods.end(), [](const auto& pod) {
    return pod->meshed && !pod->finished && !pod->meta.deleting;
  });
}

BuiltConfig build_config(const NamespaceInput& input) {
  BuiltConfig built;
  built.document.ns = input.ns;
  built.document.identity = input.identity.config;
  if (built.document.identity) built.document.outbound.other_namespaces = input.other_namespaces;
  const auto default_policy = choose_default_inbound_policy(
      input.namespace_object ? input.namespace_object->default_inbound_policy : std::nullopt,
      input.default_inbound_policy);
  built.document.inbound.default_policy = default_policy.policy;
  built.default_inbound_policy_problem = default_policy.problem;

  // Routes in precedence order (oldest first, then name).
  std::vector<const MeshRouteModel*> routes;
  for (const auto& route : input.routes) {
    built.routes[route->meta.name].invalid = route->invalid;
    if (route->invalid.empty()) routes.push_back(route.get());
  }
  std::sort(routes.begin(), routes.end(), [](const auto* a, const auto* b) {
    return std::tie(a->meta.creation_timestamp, a->meta.name) <
           std::tie(b->meta.creation_timestamp, b->meta.name);
  });

  // Attach each route's rules to the Service ports of its parents.
  std::map<std::pair<std::string, std::uint16_t>, PortRoutes> port_routes;
  for (const auto* route : routes) {
    auto& findings = built.routes[route->meta.name];
    std::set<std::pair<std::string, std::uint16_t>> attached;
    for (const auto& parent : route->parents) {
      const ServiceModel* service = find_service(input, parent.name);
      const bool port_missing = service && parent.port && !find_port(*service, *parent.port);
      if (!service || !in_table(*service) || port_missing) {
        findings.missing_parents.push_back(parent.port ? port_label(parent.name, *parent.port)
                                                       : parent.name);
        continue;
      }
      for (const auto& port : service->ports) {
        if (proxied(port) && (!parent.port || *parent.port == port.port)) {
          attached.emplace(service->meta.name, port.port);
        }
      }
    }
    for (std::size_t r = 0; r < route->rules.size(); ++r) {
      for (const auto& backend : route->rules[r].backends) {
        const ServiceModel* service = find_service(input, backend.name);
        if (!service || !in_table(*service) || !find_port(*service, backend.port)) {
          const auto label = port_label(backend.name, backend.port);
          if (std::find(findings.missing_backends.begin(), findings.missing_backends.end(),
                        label) == findings.missing_backends.end()) {
            findings.missing_backends.push_back(label);
          }
        }
      }
    }
    for (const auto& [service_name, port] : attached) {
      findings.attached.push_back(port_label(service_name, port));
      auto& target = port_routes[{service_name, port}];
      for (std::size_t r = 0; r < route->rules.size(); ++r) {
        const auto& rule = route->rules[r];
        pc::Rule out;
        out.route = route->meta.name;
        out.route_rule = static_cast<std::uint32_t>(r);
        for (const auto& backend : rule.backends) {
          out.backends.push_back({backend.name, backend.port, backend.weight});
        }
        if (out.backends.empty()) out.backends.push_back({service_name, port, 1});
        out.request_timeout = rule.request_timeout;
        out.backend_request_timeout = rule.backend_request_timeout;
        out.retry = rule.retry;
        const std::size_t rule_index = target.rules.size();
        target.rules.push_back(std::move(out));
        for (std::size_t m = 0; m < rule.matches.size(); ++m) {
          pc::RouteMatch match = rule.matches[m].match;
          match.rule = rule_index;
          target.matches.push_back({std::move(match), rule.matches[m].grpc_method, route, r, m});
        }
      }
    }
  }

  // Policies in precedence order.
  std::vector<const MeshPolicyModel*> policies;
  for (const auto& policy : input.policies) {
    auto& findings = built.policies[policy->meta.name];
    findings.invalid = policy->invalid;
    if (!policy->invalid.empty()) continue;
    if (policy->target) {
      const ServiceModel* service = find_service(input, policy->target->name);
      if (!service || (policy->target->port && !find_port(*service, *policy->target->port))) {
        findings.missing_target = policy->target->port
                                      ? port_label(policy->target->name, *policy->target->port)
                                      : policy->target->name;
        continue;
      }
    }
    policies.push_back(policy.get());
  }
  std::sort(policies.begin(), policies.end(), policy_before);

  // Outbound table.
  const auto pods = pods_by_name(input);
  for (const auto& service : input.services) {
    if (!in_table(*service)) continue;
    pc::Service out;
    out.name = service->meta.name;
    out.cluster_ips = service->cluster_ips;
    for (const auto& port : service->ports) {
      if (!proxied(port)) continue;
      pc::ServicePort out_port;
      out_port.port = port.port;
      out_port.name = port.name;
      out_port.app_protocol = port.app_protocol;
      out_port.endpoints = ready_endpoints(*service, port, input, pods);
      if (auto it = port_routes.find({service->meta.name, port.port}); it != port_routes.end()) {
        auto& ranked = it->second.matches;
        std::stable_sort(ranked.begin(), ranked.end(), match_before);
        out_port.rules = std::move(it->second.rules);
        for (auto& entry : ranked) out_port.matches.push_back(std::move(entry.match));
      }
      // Per section, the first covering policy that sets it wins; the others
      // that also set it for this traffic are conflicted.
      for (Section section : kSections) {
        const MeshPolicyModel* winner = nullptr;
        for (const auto* policy : policies) {
          if (!sets(*policy, section) || !covers(*policy, *service, port)) continue;
          if (!winner) {
            winner = policy;
            continue;
          }
          built.policies[policy->meta.name].conflicts.push_back(
              fmt::format("{} for {} (won by {})", section_name(section),
                          port_label(service->meta.name, port.port), winner->meta.name));
        }
        if (!winner) continue;
        if (section == Section::kLoadBalancer) out_port.load_balancer = *winner->load_balancer;
        if (section == Section::kCircuitBreaker) out_port.circuit_breaker = winner->circuit_breaker;
      }
      out.ports.push_back(std::move(out_port));
    }
    built.document.outbound.services.push_back(std::move(out));
  }
  std::sort(built.document.outbound.services.begin(), built.document.outbound.services.end(),
            [](const pc::Service& a, const pc::Service& b) { return a.name < b.name; });

  // Two podSelector policies with the same selector setting the same section
  // conflict even when no Service fronts their pods.
  for (std::size_t i = 0; i < policies.size(); ++i) {
    for (std::size_t j = i + 1; j < policies.size(); ++j) {
      const auto* first = policies[i];
      const auto* later = policies[j];
      if (!first->pod_selector || !later->pod_selector ||
          !(*first->pod_selector == *later->pod_selector)) {
        continue;
      }
      for (Section section : {Section::kMtls, Section::kAuthorization, Section::kRateLimit}) {
        if (!sets(*first, section) || !sets(*later, section)) continue;
        auto& conflicts = built.policies[later->meta.name].conflicts;
        const auto text = fmt::format("{} for the same podSelector (won by {})",
                                      section_name(section), first->meta.name);
        if (std::find(conflicts.begin(), conflicts.end(), text) == conflicts.end()) {
          conflicts.push_back(text);
        }
      }
    }
  }

  // Inbound: the server-side sections, in precedence order.
  for (const auto* policy : policies) {
    if (!policy->mtls && !policy->authorization && !policy->rate_limit) continue;
    pc::InboundPolicy out;
    out.name = policy->meta.name;
    out.mtls = policy->mtls;
    out.authorization = policy->authorization;
    out.rate_limit = policy->rate_limit;
    if (policy->pod_selector) {
      out.pod_selector = *policy->pod_selector;
    } else {
      const ServiceModel* service = find_service(input, policy->target->name);
      if (service->selector.empty()) {
        // Without a selector the Service's pods cannot be named by labels.
        built.policies[policy->meta.name].note = fmt::format(
            "Service {} has no selector: server-side sections are not applied", service->meta.name);
        continue;
      }
      out.pod_selector.match_labels = service->selector;
      std::set<std::uint16_t> ports;
      for (const auto& port : service->ports) {
        if (!proxied(port) || (policy->target->port && *policy->target->port != port.port)) {
          continue;
        }
        for (auto number : target_ports(*service, port, input)) ports.insert(number);
      }
      if (ports.empty()) continue;  // a named target port no endpoint resolves yet
      out.ports.assign(ports.begin(), ports.end());
    }
    built.document.inbound.policies.push_back(std::move(out));
  }
  return built;
}

}  // namespace weft::op
