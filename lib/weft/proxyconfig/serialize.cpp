#include "weft/proxyconfig/serialize.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "weft/proxyconfig/enums.h"

namespace weft::proxyconfig {
namespace {

using nlohmann::json;

// Invalid UTF-8 (which Kubernetes never stores) is replaced instead of throwing.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json string_array(const std::vector<std::string>& values) {
  json out = json::array();
  for (const auto& value : values) out.push_back(value);
  return out;
}

json value_matches(const std::vector<ValueMatch>& matches) {
  json out = json::array();
  for (const auto& match : matches) {
    out.push_back({{"type", to_string(match.type)}, {"name", match.name}, {"value", match.value}});
  }
  return out;
}

json match_json(const RouteMatch& match) {
  json out = {{"rule", match.rule},
              {"path", {{"type", to_string(match.path.type)}, {"value", match.path.value}}}};
  if (match.method) out["method"] = *match.method;
  if (!match.headers.empty()) out["headers"] = value_matches(match.headers);
  if (!match.query_params.empty()) out["queryParams"] = value_matches(match.query_params);
  if (match.grpc) out["grpc"] = true;
  return out;
}

json retry_json(const Retry& retry) {
  auto codes = retry.codes;
  std::sort(codes.begin(), codes.end());
  auto conditions = retry.conditions;
  std::sort(conditions.begin(), conditions.end());
  json condition_names = json::array();
  for (auto condition : conditions) condition_names.push_back(to_string(condition));
  json out = {{"attempts", retry.attempts},
              {"codes", codes},
              {"conditions", condition_names},
              {"backoffMs", retry.backoff.count()},
              {"budget",
               {{"percent", retry.budget.percent},
                {"minRetriesPerSecond", retry.budget.min_retries_per_second},
                {"intervalMs", retry.budget.interval.count()}}}};
  // Left out when empty, so documents without gRPC retries keep their bytes.
  if (!retry.grpc_codes.empty()) {
    std::vector<int> grpc_codes(retry.grpc_codes.begin(), retry.grpc_codes.end());
    std::sort(grpc_codes.begin(), grpc_codes.end());
    out["grpcCodes"] = grpc_codes;
  }
  return out;
}

json rule_json(const Rule& rule) {
  json backends = json::array();
  for (const auto& backend : rule.backends) {
    backends.push_back(
        {{"service", backend.service}, {"port", backend.port}, {"weight", backend.weight}});
  }
  json out = {{"route", rule.route}, {"routeRule", rule.route_rule}, {"backends", backends}};
  json timeouts = json::object();
  if (rule.request_timeout) timeouts["requestMs"] = rule.request_timeout->count();
  if (rule.backend_request_timeout) {
    timeouts["backendRequestMs"] = rule.backend_request_timeout->count();
  }
  if (!timeouts.empty()) out["timeouts"] = timeouts;
  if (rule.retry) out["retry"] = retry_json(*rule.retry);
  return out;
}

json endpoint_json(const Endpoint& endpoint) {
  json out = {{"address", endpoint.address}, {"port", endpoint.port}};
  if (!endpoint.service_account.empty()) out["serviceAccount"] = endpoint.service_account;
  if (!endpoint.pod.empty()) out["pod"] = endpoint.pod;
  if (!endpoint.zone.empty()) out["zone"] = endpoint.zone;
  if (!endpoint.identity.empty()) out["identity"] = endpoint.identity;
  if (endpoint.opaque) out["opaque"] = true;
  return out;
}

json port_json(const ServicePort& port) {
  auto endpoints = port.endpoints;
  std::sort(endpoints.begin(), endpoints.end(), [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.address, a.port) < std::tie(b.address, b.port);
  });
  json endpoint_list = json::array();
  for (const auto& endpoint : endpoints) endpoint_list.push_back(endpoint_json(endpoint));
  json rules = json::array();
  for (const auto& rule : port.rules) rules.push_back(rule_json(rule));
  json matches = json::array();
  for (const auto& match : port.matches) matches.push_back(match_json(match));

  json out = {{"port", port.port},
              {"endpoints", endpoint_list},
              {"rules", rules},
              {"matches", matches},
              {"loadBalancer", {{"algorithm", to_string(port.load_balancer)}}}};
  if (!port.name.empty()) out["name"] = port.name;
  if (!port.app_protocol.empty()) out["appProtocol"] = port.app_protocol;
  if (port.circuit_breaker) {
    const auto& breaker = *port.circuit_breaker;
    out["circuitBreaker"] = {{"consecutiveFailures", breaker.consecutive_failures},
                             {"ejectionTimeMs", breaker.ejection_time.count()},
                             {"maxEjectionTimeMs", breaker.max_ejection_time.count()}};
  }
  return out;
}

json service_json(const Service& service) {
  auto ports = service.ports;
  std::sort(ports.begin(), ports.end(),
            [](const ServicePort& a, const ServicePort& b) { return a.port < b.port; });
  json port_list = json::array();
  for (const auto& port : ports) port_list.push_back(port_json(port));
  return {{"name", service.name},
          {"clusterIPs", string_array(service.cluster_ips)},
          {"ports", port_list}};
}

json selector_json(const LabelSelector& selector) {
  json out = json::object();
  if (!selector.match_labels.empty()) out["matchLabels"] = selector.match_labels;
  if (!selector.match_expressions.empty()) {
    json expressions = json::array();
    for (const auto& requirement : selector.match_expressions) {
      json item = {{"key", requirement.key}, {"operator", to_string(requirement.op)}};
      if (!requirement.values.empty()) item["values"] = string_array(requirement.values);
      expressions.push_back(item);
    }
    out["matchExpressions"] = expressions;
  }
  return out;
}

json authorization_rule_json(const AuthorizationRule& rule) {
  json out = json::object();
  if (!rule.identities.empty()) {
    json identities = json::array();
    for (const auto& identity : rule.identities) {
      identities.push_back(
          {{"namespace", identity.ns}, {"serviceAccount", identity.service_account}});
    }
    out["identities"] = identities;
  }
  if (!rule.cidrs.empty()) out["cidrs"] = string_array(rule.cidrs);
  if (!rule.paths.empty()) {
    json paths = json::array();
    for (const auto& path : rule.paths) {
      paths.push_back({{"type", to_string(path.type)}, {"value", path.value}});
    }
    out["paths"] = paths;
  }
  if (!rule.methods.empty()) out["methods"] = string_array(rule.methods);
  return out;
}

json policy_json(const InboundPolicy& policy) {
  auto ports = policy.ports;
  std::sort(ports.begin(), ports.end());
  json out = {
      {"name", policy.name}, {"podSelector", selector_json(policy.pod_selector)}, {"ports", ports}};
  if (policy.mtls) out["mtls"] = {{"mode", to_string(*policy.mtls)}};
  if (policy.authorization) {
    json rules = json::array();
    for (const auto& rule : policy.authorization->rules) {
      rules.push_back(authorization_rule_json(rule));
    }
    out["authorization"] = {{"defaultAction", to_string(policy.authorization->default_action)},
                            {"rules", rules}};
  }
  if (policy.rate_limit) {
    out["rateLimit"] = {{"requestsPerSecond", policy.rate_limit->requests_per_second},
                        {"burst", policy.rate_limit->burst}};
  }
  return out;
}

}  // namespace

json to_json(const Document& document) {
  auto services = document.outbound.services;
  std::sort(services.begin(), services.end(),
            [](const Service& a, const Service& b) { return a.name < b.name; });
  json service_list = json::array();
  for (const auto& service : services) service_list.push_back(service_json(service));
  json policies = json::array();
  for (const auto& policy : document.inbound.policies) policies.push_back(policy_json(policy));
  json outbound = {{"services", service_list}};
  if (!document.outbound.other_namespaces.empty()) {
    auto others = document.outbound.other_namespaces;
    std::sort(others.begin(), others.end(), [](const MeshedService& a, const MeshedService& b) {
      return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
    });
    json list = json::array();
    for (auto& other : others) {
      std::sort(other.ports.begin(), other.ports.end());
      json item = {{"namespace", other.ns},
                   {"name", other.name},
                   {"clusterIPs", string_array(other.cluster_ips)},
                   {"ports", other.ports},
                   {"identity", other.identity}};
      if (!other.opaque_ports.empty()) {
        std::sort(other.opaque_ports.begin(), other.opaque_ports.end());
        item["opaquePorts"] = other.opaque_ports;
      }
      list.push_back(std::move(item));
    }
    outbound["otherNamespaces"] = std::move(list);
  }
  json out = {{"version", document.version},
              {"namespace", document.ns},
              {"outbound", std::move(outbound)},
              {"inbound", {{"policies", policies}}}};
  // Omitted at the default, so documents written before the field existed keep
  // their bytes and hash.
  if (document.inbound.default_policy != DefaultInboundPolicy::kAllUnauthenticated) {
    out["inbound"]["defaultPolicy"] = to_string(document.inbound.default_policy);
  }
  if (document.identity) {
    out["identity"] = {{"trustDomain", document.identity->trust_domain},
                       {"trustAnchorsPem", document.identity->trust_anchors_pem}};
  }
  return out;
}

std::string content_hash(const json& body) {
  const std::string text = dump(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

SerializedDocument serialize(const Document& document) {
  json body = to_json(document);
  std::string hash = content_hash(body);
  body["hash"] = hash;
  return {dump(body), std::move(hash)};
}

}  // namespace weft::proxyconfig
