#include "operator/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "weft/constants.h"
#include "weft/duration.h"
#include "weft/proxyconfig/enums.h"
#include "weft/proxyconfig/route_regex.h"

namespace weft::op {
namespace {

using nlohmann::json;

const json kNull;

const json& at(const json& object, std::string_view key) {
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}
std::string text(const json& object, std::string_view key) {
  const json& value = at(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}
std::optional<std::int64_t> integer(const json& object, std::string_view key) {
  const json& value = at(object, key);
  if (!value.is_number_integer()) return std::nullopt;
  return value.get<std::int64_t>();
}
std::optional<std::uint16_t> port_number(const json& object, std::string_view key) {
  const auto value = integer(object, key);
  if (!value || *value < 1 || *value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*value);
}
std::optional<bool> boolean(const json& object, std::string_view key) {
  const json& value = at(object, key);
  if (!value.is_boolean()) return std::nullopt;
  return value.get<bool>();
}
std::map<std::string, std::string> string_map(const json& value) {
  std::map<std::string, std::string> out;
  if (!value.is_object()) return out;
  for (const auto& [key, item] : value.items()) {
    if (item.is_string()) out[key] = item.get<std::string>();
  }
  return out;
}
std::vector<std::string> strings(const json& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const auto& item : value) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}
const json& array(const json& object, std::string_view key) {
  static const json kEmpty = json::array();
  const json& value = at(object, key);
  return value.is_array() ? value : kEmpty;
}

// Collects the first problem of a CRD spec, with its field path.
struct Problems {
  std::string first;
  void add(const std::string& path, const std::string& what) {
    if (first.empty()) first = fmt::format("{}: {}", path, what);
  }
};

std::optional<std::chrono::milliseconds> duration(const json& object, std::string_view key,
                                                  const std::string& path, Problems& problems) {
  const json& value = at(object, key);
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) {
    problems.add(fmt::format("{}.{}", path, key), "must be a duration string");
    return std::nullopt;
  }
  auto parsed = parse_duration(value.get<std::string>());
  if (!parsed) {
    problems.add(fmt::format("{}.{}", path, key), parsed.error().message);
    return std::nullopt;
  }
  return *parsed;
}

// The proxy compiles with the same function: a pattern accepted here (RE2
// syntax) is one every proxy accepts, and one RE2 refuses (a backreference,
// a lookaround) is refused here with RE2's reason.
void check_regex(const std::string& pattern, const std::string& path, Problems& problems) {
  auto compiled = pc::RouteRegex::compile(pattern);
  if (!compiled) problems.add(path, compiled.error().message);
}

template <typename E>
std::optional<E> enum_field(const json& object, std::string_view key, const std::string& path,
                            Problems& problems) {
  const std::string value = text(object, key);
  if (value.empty()) return std::nullopt;
  auto parsed = pc::parse_enum<E>(value);
  if (!parsed) problems.add(fmt::format("{}.{}", path, key), fmt::format("unknown {:?}", value));
  return parsed;
}

std::optional<ServiceRef> service_ref(const json& value) {
  if (!value.is_object()) return std::nullopt;
  ServiceRef ref;
  ref.name = text(value, "name");
  ref.port = port_number(value, "port");
  return ref;
}

std::vector<pc::ValueMatch> value_matches(const json& list, const std::string& path,
                                          Problems& problems) {
  std::vector<pc::ValueMatch> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string item_path = fmt::format("{}[{}]", path, i);
    pc::ValueMatch match;
    match.type = enum_field<pc::ValueMatchType>(list[i], "type", item_path, problems)
                     .value_or(pc::ValueMatchType::kExact);
    match.name = text(list[i], "name");
    match.value = text(list[i], "value");
    if (match.type == pc::ValueMatchType::kRegularExpression) {
      check_regex(match.value, item_path + ".value", problems);
    }
    out.push_back(std::move(match));
  }
  return out;
}

// A grpcMethod, after the CRD's rules the API server applied: it stands
// alone, without path, HTTP method or query (checked again here for objects
// that did not pass them). nullopt, with the problem, when it cannot be used.
std::optional<GrpcMethodMatch> grpc_method_match(const json& grpc, const json& match,
                                                 const std::string& match_path,
                                                 Problems& problems) {
  for (const char* http_only : {"path", "method", "queryParams"}) {
    if (!at(match, http_only).is_null()) {
      problems.add(fmt::format("{}.{}", match_path, http_only), "cannot be set beside grpcMethod");
      return std::nullopt;
    }
  }
  const std::string grpc_path = match_path + ".grpcMethod";
  GrpcMethodMatch out;
  const auto type = enum_field<pc::ValueMatchType>(grpc, "type", grpc_path, problems);
  if (!type && !text(grpc, "type").empty()) return std::nullopt;
  out.type = type.value_or(pc::ValueMatchType::kExact);
  out.service = text(grpc, "service");
  out.method = text(grpc, "method");
  return out;
}

RouteRuleModel parse_rule(const json& rule, const std::string& path, Problems& problems) {
  RouteRuleModel out;
  const json& matches = at(rule, "matches");
  if (!matches.is_array()) {
    out.matches.push_back({});  // CRD default: path prefix "/"
  }
  for (std::size_t i = 0; matches.is_array() && i < matches.size(); ++i) {
    const std::string match_path = fmt::format("{}.matches[{}]", path, i);
    const json& match = matches[i];
    RouteMatchModel model;
    pc::RouteMatch& parsed = model.match;
    if (const json& grpc = at(match, "grpcMethod"); grpc.is_object()) {
      model.grpc_method = grpc_method_match(grpc, match, match_path, problems);
      if (model.grpc_method) {
        if (auto converted = grpc_method_path(*model.grpc_method)) {
          parsed.path = *converted;
          parsed.grpc = true;
        } else {
          const auto& error = converted.error();
          problems.add(match_path + ".grpcMethod" + (error.field.empty() ? "" : "." + error.field),
                       error.message);
        }
      }
    } else if (const json& p = at(match, "path"); p.is_object()) {
      parsed.path.type = enum_field<pc::PathMatchType>(p, "type", match_path + ".path", problems)
                             .value_or(pc::PathMatchType::kPathPrefix);
      parsed.path.value = text(p, "value").empty() ? "/" : text(p, "value");
      if (parsed.path.type == pc::PathMatchType::kRegularExpression) {
        check_regex(parsed.path.value, match_path + ".path.value", problems);
      }
    }
    if (!text(match, "method").empty()) parsed.method = text(match, "method");
    parsed.headers = value_matches(array(match, "headers"), match_path + ".headers", problems);
    parsed.query_params =
        value_matches(array(match, "queryParams"), match_path + ".queryParams", problems);
    out.matches.push_back(std::move(model));
  }
  for (const auto& backend : array(rule, "backendRefs")) {
    BackendRefModel ref;
    ref.name = text(backend, "name");
    ref.port = port_number(backend, "port").value_or(0);
    ref.weight = static_cast<std::uint32_t>(integer(backend, "weight").value_or(1));
    out.backends.push_back(std::move(ref));
  }
  if (const json& timeouts = at(rule, "timeouts"); timeouts.is_object()) {
    out.request_timeout = duration(timeouts, "request", path + ".timeouts", problems);
    out.backend_request_timeout =
        duration(timeouts, "backendRequest", path + ".timeouts", problems);
    if (out.request_timeout && out.request_timeout->count() == 0) out.request_timeout.reset();
    if (out.backend_request_timeout && out.backend_request_timeout->count() == 0) {
      out.backend_request_timeout.reset();
    }
  }
  if (const json& retry = at(rule, "retry"); retry.is_object()) {
    const std::string retry_path = path + ".retry";
    pc::Retry parsed;
    parsed.attempts = static_cast<std::uint32_t>(integer(retry, "attempts").value_or(1));
    for (const auto& code : array(retry, "codes")) {
      if (code.is_number_integer()) parsed.codes.push_back(code.get<std::uint16_t>());
    }
    if (at(retry, "conditions").is_array()) {
      for (const auto& name : strings(at(retry, "conditions"))) {
        if (auto condition = pc::parse_enum<pc::RetryCondition>(name)) {
          parsed.conditions.push_back(*condition);
        } else {
          problems.add(retry_path + ".conditions", fmt::format("unknown {:?}", name));
        }
      }
    } else {
      parsed.conditions = {pc::RetryCondition::kConnectFailure, pc::RetryCondition::kRefusedStream};
    }
    for (const auto& name : strings(at(retry, "grpcCodes"))) {
      if (auto code = grpc_code(name)) {
        parsed.grpc_codes.push_back(*code);
      } else {
        problems.add(retry_path + ".grpcCodes", fmt::format("unknown gRPC status {:?}", name));
      }
    }
    std::sort(parsed.grpc_codes.begin(), parsed.grpc_codes.end());
    parsed.grpc_codes.erase(std::unique(parsed.grpc_codes.begin(), parsed.grpc_codes.end()),
                            parsed.grpc_codes.end());
    parsed.backoff =
        duration(retry, "backoff", retry_path, problems).value_or(std::chrono::milliseconds(25));
    if (const json& budget = at(retry, "budget"); budget.is_object()) {
      parsed.budget.percent = static_cast<std::uint32_t>(integer(budget, "percent").value_or(20));
      parsed.budget.min_retries_per_second =
          static_cast<std::uint32_t>(integer(budget, "minRetriesPerSecond").value_or(10));
      parsed.budget.interval = duration(budget, "interval", retry_path + ".budget", problems)
                                   .value_or(std::chrono::seconds(10));
    }
    out.retry = std::move(parsed);
  }
  return out;
}

pc::LabelSelector parse_selector(const json& value) {
  pc::LabelSelector selector;
  selector.match_labels = string_map(at(value, "matchLabels"));
  for (const auto& expression : array(value, "matchExpressions")) {
    pc::SelectorRequirement requirement;
    requirement.key = text(expression, "key");
    requirement.op = pc::parse_enum<pc::SelectorOperator>(text(expression, "operator"))
                         .value_or(pc::SelectorOperator::kExists);
    requirement.values = strings(at(expression, "values"));
    selector.match_expressions.push_back(std::move(requirement));
  }
  return selector;
}

pc::Authorization parse_authorization(const json& value, Problems& problems) {
  pc::Authorization out;
  out.default_action =
      enum_field<pc::AuthorizationAction>(value, "defaultAction", "spec.authorization", problems)
          .value_or(pc::AuthorizationAction::kDeny);
  for (const auto& rule : array(value, "rules")) {
    const std::size_t index = out.rules.size();
    pc::AuthorizationRule parsed;
    const json& from = at(rule, "from");
    for (const auto& identity : array(from, "identities")) {
      parsed.identities.push_back({text(identity, "namespace"), text(identity, "serviceAccount")});
    }
    parsed.cidrs = strings(at(from, "cidrs"));
    const json& to = at(rule, "to");
    for (const auto& path : array(to, "paths")) {
      parsed.paths.push_back({pc::parse_enum<pc::AuthorizationPathType>(text(path, "type"))
                                  .value_or(pc::AuthorizationPathType::kPathPrefix),
                              text(path, "value")});
    }
    parsed.methods = strings(at(to, "methods"));
    // The CRD requires a list; without one (an older CRD, a field of the wrong
    // type) the rule would allow everything, and the proxies refuse such a
    // document: the policy is Invalid instead of the namespace's document.
    if (parsed.identities.empty() && parsed.cidrs.empty() && parsed.paths.empty() &&
        parsed.methods.empty()) {
      problems.add(fmt::format("spec.authorization.rules[{}]", index),
                   "sets no list (from.identities, from.cidrs, to.paths or to.methods)");
    }
    out.rules.push_back(std::move(parsed));
  }
  return out;
}

// What the proxy container was given, as the proxy parses it; the last of
// duplicate entries wins, as in the kubelet. A list it would refuse, or a
// value from elsewhere (valueFrom: never what the webhook writes), counts
// as none: then the pod's endpoints are not marked, as before.
PortSet opaque_ports_of(const json& container) {
  const json* last = nullptr;
  for (const auto& variable : array(container, "env")) {
    if (text(variable, "name") == kEnvOpaquePorts) last = &variable;
  }
  if (last == nullptr || !at(*last, "value").is_string()) return {};
  auto ports = parse_port_set(text(*last, "value"));
  return ports ? std::move(*ports) : PortSet();
}

}  // namespace

ObjectMeta parse_meta(const json& object) {
  const json& metadata = at(object, "metadata");
  ObjectMeta meta;
  meta.ns = text(metadata, "namespace");
  meta.name = text(metadata, "name");
  meta.uid = text(metadata, "uid");
  meta.generation = integer(metadata, "generation").value_or(0);
  meta.creation_timestamp = text(metadata, "creationTimestamp");
  meta.resource_version = text(metadata, "resourceVersion");
  meta.deleting = !text(metadata, "deletionTimestamp").empty();
  meta.labels = string_map(at(metadata, "labels"));
  return meta;
}

NamespaceModel parse_namespace(const json& object) {
  NamespaceModel out;
  out.meta = parse_meta(object);
  const auto it = out.meta.labels.find(std::string(kInjectLabel));
  out.meshed = it != out.meta.labels.end() && it->second == kInjectEnabled;
  const json& annotations = at(at(object, "metadata"), "annotations");
  if (const json& value = at(annotations, kDefaultInboundPolicyAnnotation); value.is_string()) {
    out.default_inbound_policy = value.get<std::string>();
  }
  return out;
}

ServiceModel parse_service(const json& object) {
  ServiceModel out;
  out.meta = parse_meta(object);
  const json& spec = at(object, "spec");
  if (!text(spec, "type").empty()) out.type = text(spec, "type");
  auto ips = strings(at(spec, "clusterIPs"));
  if (ips.empty() && !text(spec, "clusterIP").empty()) ips.push_back(text(spec, "clusterIP"));
  for (auto& ip : ips) {
    if (ip != "None" && !ip.empty()) out.cluster_ips.push_back(std::move(ip));
  }
  out.selector = string_map(at(spec, "selector"));
  for (const auto& port : array(spec, "ports")) {
    ServicePortModel parsed;
    parsed.name = text(port, "name");
    if (!text(port, "protocol").empty()) parsed.protocol = text(port, "protocol");
    parsed.port = port_number(port, "port").value_or(0);
    const json& target = at(port, "targetPort");
    if (target.is_string()) {
      parsed.target_port_name = target.get<std::string>();
    } else {
      parsed.target_port_number = port_number(port, "targetPort");
    }
    if (!parsed.target_port_number && parsed.target_port_name.empty()) {
      parsed.target_port_number = parsed.port;  // the API's default
    }
    parsed.app_protocol = text(port, "appProtocol");
    if (parsed.port != 0) out.ports.push_back(std::move(parsed));
  }
  return out;
}

EndpointSliceModel parse_endpoint_slice(const json& object) {
  EndpointSliceModel out;
  out.meta = parse_meta(object);
  const auto it = out.meta.labels.find("kubernetes.io/service-name");
  if (it != out.meta.labels.end()) out.service = it->second;
  out.address_type = text(object, "addressType");
  for (const auto& port : array(object, "ports")) {
    SlicePort parsed;
    parsed.name = text(port, "name");
    if (!text(port, "protocol").empty()) parsed.protocol = text(port, "protocol");
    parsed.port = port_number(port, "port");
    out.ports.push_back(std::move(parsed));
  }
  for (const auto& endpoint : array(object, "endpoints")) {
    SliceEndpoint parsed;
    parsed.addresses = strings(at(endpoint, "addresses"));
    const json& conditions = at(endpoint, "conditions");
    parsed.ready = boolean(conditions, "ready").value_or(true);
    parsed.serving = boolean(conditions, "serving").value_or(parsed.ready);
    parsed.terminating = boolean(conditions, "terminating").value_or(false);
    const json& target = at(endpoint, "targetRef");
    if (text(target, "kind") == "Pod") parsed.pod = text(target, "name");
    parsed.zone = text(endpoint, "zone");
    out.endpoints.push_back(std::move(parsed));
  }
  return out;
}

PodModel parse_pod(const json& object) {
  PodModel out;
  out.meta = parse_meta(object);
  // Unused for pods; dropped so that 10,000 pods cost less (docs/operator.md, "Memory").
  out.meta.creation_timestamp = std::string();
  out.meta.resource_version = std::string();
  out.service_account = text(at(object, "spec"), "serviceAccountName");
  if (out.service_account.empty()) out.service_account = "default";
  const json& spec = at(object, "spec");
  const json* proxy_container = nullptr;
  for (const auto& container : array(spec, "initContainers")) {
    if (text(container, "name") == kProxyContainerName &&
        text(container, "restartPolicy") == "Always") {
      proxy_container = &container;
    }
  }
  for (const auto& container : array(spec, "containers")) {
    if (text(container, "name") == kProxyContainerName) proxy_container = &container;
  }
  const bool proxy = proxy_container != nullptr;
  const json& annotations = at(at(object, "metadata"), "annotations");
  const std::string seal = text(annotations, kInjectionSealAnnotation);
  out.sealed = seal.starts_with("sha256:");
  out.has_proxy = proxy;
  out.meshed = proxy && out.sealed;
  if (out.meshed) out.opaque_ports = opaque_ports_of(*proxy_container);
  if (out.sealed || proxy) out.proxy_version = text(annotations, kProxyVersionAnnotation);
  const json& status = at(object, "status");
  const std::string phase = text(status, "phase");
  out.finished = phase == "Succeeded" || phase == "Failed";
  // A native sidecar reports in initContainerStatuses, a classic one in
  // containerStatuses.
  for (const char* list : {"initContainerStatuses", "containerStatuses"}) {
    for (const auto& container : array(status, list)) {
      if (text(container, "name") != kProxyContainerName) continue;
      out.proxy_ready = boolean(container, "ready").value_or(false);
      const auto restarts = integer(container, "restartCount").value_or(0);
      out.proxy_restarts = static_cast<std::int32_t>(
          std::clamp<std::int64_t>(restarts, 0, std::numeric_limits<std::int32_t>::max()));
      out.proxy_crash_looping =
          text(at(at(container, "state"), "waiting"), "reason") == "CrashLoopBackOff";
    }
  }
  return out;
}

ProxyHealthMapModel parse_proxy_health_map(const json& object) {
  ProxyHealthMapModel out;
  out.meta = parse_meta(object);
  out.data = string_map(at(object, "data"));
  const auto conditions = out.data.find("conditions");
  if (conditions != out.data.end()) {
    const json parsed = json::parse(conditions->second, nullptr, false);
    if (parsed.is_array()) {
      for (const auto& condition : parsed) {
        if (text(condition, "type") == "ProxiesHealthy")
          out.last_transition_time = text(condition, "lastTransitionTime");
      }
    }
  }
  return out;
}

TrustAnchorsModel parse_trust_anchors(const json& object) {
  TrustAnchorsModel out;
  out.meta = parse_meta(object);
  const json& bundle = at(at(object, "data"), kTrustAnchorsKey);
  if (bundle.is_string()) out.bundle = bundle.get<std::string>();
  return out;
}

ConfigMapModel parse_config_map(const json& object) {
  ConfigMapModel out;
  out.meta = parse_meta(object);
  out.document = text(at(object, "data"), kProxyConfigKey);
  out.hash = text(at(at(object, "metadata"), "annotations"), kProxyConfigHashAnnotation);
  return out;
}

RbacModel parse_rbac(const json& object) {
  RbacModel out;
  out.meta = parse_meta(object);
  // The fields the operator sets; a Role has only the first, a RoleBinding the others.
  const json content = {{"rules", at(object, "rules")},
                        {"roleRef", at(object, "roleRef")},
                        {"subjects", at(object, "subjects")}};
  out.content = content.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

ObservedStatus parse_status(const json& object) {
  ObservedStatus out;
  const json& status = at(object, "status");
  out.observed_generation = integer(status, "observedGeneration");
  for (const auto& condition : array(status, "conditions")) {
    Condition parsed;
    parsed.type = text(condition, "type");
    parsed.status = text(condition, "status");
    parsed.reason = text(condition, "reason");
    parsed.message = text(condition, "message");
    parsed.observed_generation = integer(condition, "observedGeneration").value_or(0);
    parsed.last_transition_time = text(condition, "lastTransitionTime");
    out.conditions.push_back(std::move(parsed));
  }
  return out;
}

MeshRouteModel parse_mesh_route(const json& object) {
  MeshRouteModel out;
  out.meta = parse_meta(object);
  out.status = parse_status(object);
  const json& spec = at(object, "spec");
  Problems problems;
  for (const auto& parent : array(spec, "parentRefs")) {
    if (auto ref = service_ref(parent)) out.parents.push_back(std::move(*ref));
  }
  const json& rules = array(spec, "rules");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    out.rules.push_back(parse_rule(rules[i], fmt::format("spec.rules[{}]", i), problems));
  }
  if (out.parents.empty()) problems.add("spec.parentRefs", "must not be empty");
  if (out.rules.empty()) problems.add("spec.rules", "must not be empty");
  out.invalid = problems.first;
  return out;
}

MeshPolicyModel parse_mesh_policy(const json& object) {
  MeshPolicyModel out;
  out.meta = parse_meta(object);
  out.status = parse_status(object);
  const json& spec = at(object, "spec");
  Problems problems;
  out.target = service_ref(at(spec, "targetRef"));
  if (at(spec, "podSelector").is_object())
    out.pod_selector = parse_selector(at(spec, "podSelector"));
  if (out.target.has_value() == out.pod_selector.has_value()) {
    problems.add("spec", "exactly one of targetRef or podSelector must be set");
  }
  if (const json& mtls = at(spec, "mtls"); mtls.is_object()) {
    out.mtls = enum_field<pc::MtlsMode>(mtls, "mode", "spec.mtls", problems)
                   .value_or(pc::MtlsMode::kPermissive);
  }
  if (const json& authorization = at(spec, "authorization"); authorization.is_object()) {
    out.authorization = parse_authorization(authorization, problems);
  }
  if (const json& rate = at(spec, "rateLimit"); rate.is_object()) {
    pc::RateLimit limit;
    limit.requests_per_second =
        static_cast<std::uint32_t>(integer(rate, "requestsPerSecond").value_or(1));
    limit.burst =
        static_cast<std::uint32_t>(integer(rate, "burst").value_or(limit.requests_per_second));
    out.rate_limit = limit;
  }
  if (const json& breaker = at(spec, "circuitBreaker"); breaker.is_object()) {
    pc::CircuitBreaker parsed;
    parsed.consecutive_failures =
        static_cast<std::uint32_t>(integer(breaker, "consecutiveFailures").value_or(5));
    parsed.ejection_time = duration(breaker, "ejectionTime", "spec.circuitBreaker", problems)
                               .value_or(std::chrono::seconds(30));
    // Unset: the larger of 300s and ejectionTime (docs/crds.md).
    parsed.max_ejection_time = duration(breaker, "maxEjectionTime", "spec.circuitBreaker", problems)
                                   .value_or(std::max<std::chrono::milliseconds>(
                                       std::chrono::seconds(300), parsed.ejection_time));
    out.circuit_breaker = parsed;
  }
  if (const json& balancer = at(spec, "loadBalancer"); balancer.is_object()) {
    out.load_balancer =
        enum_field<pc::LoadBalancerAlgorithm>(balancer, "algorithm", "spec.loadBalancer", problems)
            .value_or(pc::LoadBalancerAlgorithm::kPeakEwma);
  }
  out.invalid = problems.first;
  return out;
}

}  // namespace weft::op
