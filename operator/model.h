#pragma once

// The operator's view of the objects it watches: plain structs parsed once, at
// the edge, from the API's JSON (DESIGN.md). Only the fields reconcile needs.
// The API server has validated MeshRoute and MeshPolicy against their CRD
// schemas; what it cannot check (regular expressions) or what a hand-edited
// object might still get wrong is reported in `invalid`, never thrown.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "operator/grpc_route.h"
#include "weft/port_list.h"
#include "weft/proxyconfig/document.h"

namespace weft::op {

namespace pc = weft::proxyconfig;

struct ObjectMeta {
  std::string ns;
  std::string name;
  std::string uid;
  std::int64_t generation = 0;
  std::string creation_timestamp;  // RFC 3339 "Z" form; sorts as text
  std::string resource_version;
  bool deleting = false;  // metadata.deletionTimestamp is set
  std::map<std::string, std::string> labels;
};

struct NamespaceModel {
  ObjectMeta meta;
  bool meshed = false;  // label weft.io/inject=enabled
  // Annotation config.weft.io/default-inbound-policy, as written (unset: absent).
  std::optional<std::string> default_inbound_policy;
};

struct ServicePortModel {
  std::string name;
  std::string protocol = "TCP";
  std::uint16_t port = 0;
  // targetPort: a number, or a name resolved per pod (through EndpointSlices).
  std::optional<std::uint16_t> target_port_number;
  std::string target_port_name;
  std::string app_protocol;
};

struct ServiceModel {
  ObjectMeta meta;
  std::string type = "ClusterIP";
  std::vector<std::string> cluster_ips;  // without "None"
  std::map<std::string, std::string> selector;
  std::vector<ServicePortModel> ports;
};

struct SliceEndpoint {
  std::vector<std::string> addresses;
  // EndpointConditions: ready unset means ready (API docs), serving unset
  // means the value of ready, terminating unset means false.
  bool ready = true;
  bool serving = true;
  bool terminating = false;
  std::string pod;  // targetRef name when its kind is Pod
  std::string zone;
};

struct SlicePort {
  std::string name;
  std::string protocol = "TCP";
  std::optional<std::uint16_t> port;
};

struct EndpointSliceModel {
  ObjectMeta meta;
  std::string service;  // label kubernetes.io/service-name
  std::string address_type;
  std::vector<SlicePort> ports;
  std::vector<SliceEndpoint> endpoints;
};

struct PodModel {
  ObjectMeta meta;
  std::string service_account;
  // The webhook injected the pod: it runs the weft-proxy container (a native
  // sidecar, an init container with restartPolicy Always, or a classic
  // container) and carries the injection seal annotation. Its endpoints then
  // get an identity in the document. Not a security boundary: the identity
  // written is the pod's own ServiceAccount, the only one its proxy can prove.
  bool meshed = false;
  // Its phase is Succeeded or Failed: its containers, the proxy with them, have
  // ended, so it enforces nothing any more (a Job's pod, a demo's load pod).
  bool finished = false;
  // What proxy health tracking reads (operator/proxy_health.h), a few bytes a
  // pod: the seal says the webhook injected it; has_proxy, that it runs the
  // weft-proxy container; the rest is that container's status.
  bool sealed = false;
  bool has_proxy = false;
  bool proxy_ready = false;
  bool proxy_crash_looping = false;  // waiting with reason CrashLoopBackOff
  std::int32_t proxy_restarts = 0;
  std::string proxy_version;  // annotation weft.io/proxy-version (short: no allocation)
  // The ports its proxy treats as opaque (the webhook's WEFT_PROXY_OPAQUE_PORTS
  // on the weft-proxy container, from config.weft.io/opaque-ports); empty
  // for an unmeshed pod and for one whose list does not parse.
  PortSet opaque_ports;
};

// The trust bundle weft-identity publishes (ConfigMap
// weft-identity-trust-anchors of the control plane's namespace).
struct TrustAnchorsModel {
  ObjectMeta meta;
  std::optional<std::string> bundle;  // data[kTrustAnchorsKey]; unset when the key is absent
};

// A ConfigMap the operator generated (watched by its managed-by label).
struct ConfigMapModel {
  ObjectMeta meta;
  std::string document;  // data[kProxyConfigKey]
  std::string hash;      // annotation kProxyConfigHashAnnotation
};

// The proxy health summary the operator wrote in a meshed namespace
// (ConfigMap weft-proxy-health, watched by name and managed-by label).
struct ProxyHealthMapModel {
  ObjectMeta meta;
  std::map<std::string, std::string> data;
  std::string last_transition_time;  // of its condition ProxiesHealthy
};

// A RoleBinding the operator generated (watched by its name and managed-by
// label). `content` is what it grants (roleRef and subjects; rules for a Role)
// in one canonical text, to compare with the desired object's.
struct RbacModel {
  ObjectMeta meta;
  std::string content;
};

// A metav1.Condition as stored in a status.
struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  std::int64_t observed_generation = 0;
  std::string last_transition_time;
  friend bool operator==(const Condition&, const Condition&) = default;
};

struct ObservedStatus {
  std::optional<std::int64_t> observed_generation;
  std::vector<Condition> conditions;
};

struct ServiceRef {
  std::string name;
  std::optional<std::uint16_t> port;  // unset: every port
};

struct BackendRefModel {
  std::string name;
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
};

// A match as the document will carry it, and the grpcMethod it was made
// from (Gateway API GRPCRoute's precedence is decided on that).
struct RouteMatchModel {
  pc::RouteMatch match;  // RouteMatch::rule unused here
  std::optional<GrpcMethodMatch> grpc_method;
};

struct RouteRuleModel {
  std::vector<RouteMatchModel> matches;
  std::vector<BackendRefModel> backends;
  std::optional<std::chrono::milliseconds> request_timeout;  // "0s" stored as unset
  std::optional<std::chrono::milliseconds> backend_request_timeout;
  std::optional<pc::Retry> retry;
};

struct MeshRouteModel {
  ObjectMeta meta;
  std::vector<ServiceRef> parents;
  std::vector<RouteRuleModel> rules;
  std::string invalid;  // non-empty: why the spec cannot be used
  ObservedStatus status;
};

struct MeshPolicyModel {
  ObjectMeta meta;
  std::optional<ServiceRef> target;
  std::optional<pc::LabelSelector> pod_selector;
  std::optional<pc::MtlsMode> mtls;
  std::optional<pc::Authorization> authorization;
  std::optional<pc::RateLimit> rate_limit;
  std::optional<pc::CircuitBreaker> circuit_breaker;
  std::optional<pc::LoadBalancerAlgorithm> load_balancer;
  std::string invalid;
  ObservedStatus status;
};

// Parsers: JSON objects from the API into the structs above. Never throw; a
// field of the wrong type is treated as absent (or, for the CRDs, as invalid).
ObjectMeta parse_meta(const nlohmann::json& object);
NamespaceModel parse_namespace(const nlohmann::json& object);
ServiceModel parse_service(const nlohmann::json& object);
EndpointSliceModel parse_endpoint_slice(const nlohmann::json& object);
PodModel parse_pod(const nlohmann::json& object);
TrustAnchorsModel parse_trust_anchors(const nlohmann::json& object);
ConfigMapModel parse_config_map(const nlohmann::json& object);
ProxyHealthMapModel parse_proxy_health_map(const nlohmann::json& object);
RbacModel parse_rbac(const nlohmann::json& object);  // a Role or a RoleBinding
MeshRouteModel parse_mesh_route(const nlohmann::json& object);
MeshPolicyModel parse_mesh_policy(const nlohmann::json& object);
ObservedStatus parse_status(const nlohmann::json& object);

}  // namespace weft::op
