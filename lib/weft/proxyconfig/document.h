#pragma once

// The proxy configuration document: what weft-operator writes into the
// ConfigMap weft-proxy-config (key kProxyConfigKey) of each meshed namespace and
// what weft-proxy loads. Plain structs; serialize.h turns them into canonical
// JSON with a content hash, parse.h turns JSON back into them (or a clear error).
// Reference: docs/proxy-config.md, docs/proxy-config.schema.json.
//
// Compatibility: version 1 only grows by optional fields; a reader ignores
// fields it does not know. A change a version-1 reader would misread gets a new
// version number, which such a reader refuses.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/constants.h"

namespace weft::proxyconfig {

inline constexpr int kDocumentVersion = 1;

// ---- outbound: where a meshed client's requests go --------------------------

enum class PathMatchType { kExact, kPathPrefix, kRegularExpression };
enum class ValueMatchType { kExact, kRegularExpression };
enum class RetryCondition { kConnectFailure, kRefusedStream, kReset, kTimeout };
enum class LoadBalancerAlgorithm { kPeakEwma, kRoundRobin, kLeastRequest };

struct PathMatch {
  PathMatchType type = PathMatchType::kPathPrefix;
  std::string value = "/";
  friend bool operator==(const PathMatch&, const PathMatch&) = default;
};

// A header or query parameter condition.
struct ValueMatch {
  ValueMatchType type = ValueMatchType::kExact;
  std::string name;
  std::string value;
  friend bool operator==(const ValueMatch&, const ValueMatch&) = default;
};

// One match of a route rule. ServicePort::matches is in precedence order (Gateway
// API order, computed by the operator): the proxy uses the first that holds.
struct RouteMatch {
  std::size_t rule = 0;  // index into ServicePort::rules
  PathMatch path;
  std::optional<std::string> method;  // unset: any method
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query_params;
  // A MeshRoute grpcMethod match, written as its path: it also requires a gRPC
  // request (content-type application/grpc...) whose path has the gRPC shape
  // "/<service>/<method>". Serialized as "grpc": true, omitted when false.
  bool grpc = false;
  friend bool operator==(const RouteMatch&, const RouteMatch&) = default;
};

// A weighted backend: a Service of the same namespace (look it up in
// Outbound::services by name) and one of its ports.
struct Backend {
  std::string service;
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  friend bool operator==(const Backend&, const Backend&) = default;
};

struct RetryBudget {
  std::uint32_t percent = 20;
  std::uint32_t min_retries_per_second = 10;
  std::chrono::milliseconds interval{10'000};
  friend bool operator==(const RetryBudget&, const RetryBudget&) = default;
};

// The gRPC statuses a retry may name: every one but OK (0), up to
// UNAUTHENTICATED (16).
inline constexpr int kMinRetryGrpcCode = 1;
inline constexpr int kMaxRetryGrpcCode = 16;

struct Retry {
  std::uint32_t attempts = 1;
  std::vector<std::uint16_t> codes;        // sorted
  std::vector<RetryCondition> conditions;  // sorted
  // gRPC statuses (1..16) retried when a response's head carries one
  // (a trailers-only response); sorted. Serialized as "grpcCodes", omitted
  // when empty.
  std::vector<std::uint8_t> grpc_codes;
  std::chrono::milliseconds backoff{25};
  RetryBudget budget;
  friend bool operator==(const Retry&, const Retry&) = default;
};

// A MeshRoute rule, with its defaults resolved: backends are never empty (a rule
// without backendRefs gets its parent Service and port with weight 1).
struct Rule {
  std::string route;             // MeshRoute name, for logs and metrics
  std::uint32_t route_rule = 0;  // index of the rule in that MeshRoute
  std::vector<Backend> backends;
  // Unset: no limit (a "0s" timeout in the MeshRoute is also written as unset).
  std::optional<std::chrono::milliseconds> request_timeout;
  std::optional<std::chrono::milliseconds> backend_request_timeout;
  std::optional<Retry> retry;
  friend bool operator==(const Rule&, const Rule&) = default;
};

// A ready endpoint of a Service port (see docs/operator.md for which
// EndpointSlice endpoints count as ready).
struct Endpoint {
  std::string address;  // IPv4 or IPv6 literal
  std::uint16_t port = 0;
  std::string service_account;  // the pod's; empty when unknown
  std::string pod;              // empty when the endpoint has no Pod targetRef
  std::string zone;             // empty when unknown
  // The SPIFFE ID the endpoint's proxy proves in mTLS
  // (spiffe://<trust domain>/ns/<namespace>/sa/<account>); empty when the
  // endpoint's pod is not meshed, which the proxy reaches in plaintext.
  // Initialised so that positional initialisers may leave it out.
  std::string identity{};
  // The endpoint's pod declares this port opaque (its proxy's
  // --opaque-ports): that proxy hands the app whatever it receives, as TCP.
  // A client proxy then sends connections for it as TCP too, without protocol
  // detection, and never carries requests to it as HTTP/2.
  bool opaque{};
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Client side of MeshPolicy.circuitBreaker, defaults resolved.
struct CircuitBreaker {
  std::uint32_t consecutive_failures = 5;
  std::chrono::milliseconds ejection_time{30'000};
  std::chrono::milliseconds max_ejection_time{300'000};
  friend bool operator==(const CircuitBreaker&, const CircuitBreaker&) = default;
};

struct ServicePort {
  std::uint16_t port = 0;           // the Service port (what clients dial)
  std::string name;                 // ServicePort.name, may be empty
  std::string app_protocol;         // ServicePort.appProtocol, may be empty
  std::vector<Endpoint> endpoints;  // sorted by (address, port)
  // Empty when no MeshRoute is attached: traffic goes to endpoints directly.
  // Otherwise a request matching no entry of `matches` gets 404.
  std::vector<Rule> rules;
  std::vector<RouteMatch> matches;
  LoadBalancerAlgorithm load_balancer = LoadBalancerAlgorithm::kPeakEwma;
  std::optional<CircuitBreaker> circuit_breaker;  // unset: never eject
  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

struct Service {
  std::string name;
  std::vector<std::string> cluster_ips;  // spec.clusterIPs; empty for headless
  std::vector<ServicePort> ports;        // TCP ports only, sorted by port
  friend bool operator==(const Service&, const Service&) = default;
};

// A Service of another meshed namespace that a client proxy reaches over mTLS
// at its cluster IPs (kube-proxy picks the pod): every ready endpoint of it is
// a meshed pod running as the same ServiceAccount, so every server proxy
// behind it proves `identity`. Services of other namespaces whose endpoints
// are mixed, or headless, are not listed and are reached in plaintext.
struct MeshedService {
  std::string ns;
  std::string name;
  std::vector<std::string> cluster_ips;  // never empty
  std::vector<std::uint16_t> ports;      // the Service ports, sorted
  std::string identity;                  // SPIFFE ID, in the document's trust domain
  // The Service ports some endpoint's pod declares opaque (Endpoint::opaque):
  // a subset of `ports`, sorted; connections to them go as TCP.
  std::vector<std::uint16_t> opaque_ports{};
  friend bool operator==(const MeshedService&, const MeshedService&) = default;
};

struct Outbound {
  std::vector<Service> services;  // sorted by name
  // Only with an identity section; sorted by (namespace, name).
  std::vector<MeshedService> other_namespaces{};
  friend bool operator==(const Outbound&, const Outbound&) = default;
};

// ---- inbound: what a meshed workload accepts ---------------------------------

enum class MtlsMode { kStrict, kPermissive };
enum class AuthorizationAction { kAllow, kDeny };
enum class SelectorOperator { kIn, kNotIn, kExists, kDoesNotExist };
enum class AuthorizationPathType { kExact, kPathPrefix };

struct SelectorRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::kExists;
  std::vector<std::string> values;
  friend bool operator==(const SelectorRequirement&, const SelectorRequirement&) = default;
};

// A Kubernetes label selector; empty selects every pod.
struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<SelectorRequirement> match_expressions;
  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
};

struct Identity {
  std::string ns;               // namespace or "*"
  std::string service_account;  // or "*"
  friend bool operator==(const Identity&, const Identity&) = default;
};

struct AuthorizationPath {
  AuthorizationPathType type = AuthorizationPathType::kPathPrefix;
  std::string value;
  friend bool operator==(const AuthorizationPath&, const AuthorizationPath&) = default;
};

// An allow rule. Within a rule every non-empty list must match (an item of it);
// an empty list does not constrain.
struct AuthorizationRule {
  std::vector<Identity> identities;
  std::vector<std::string> cidrs;
  std::vector<AuthorizationPath> paths;
  std::vector<std::string> methods;
  friend bool operator==(const AuthorizationRule&, const AuthorizationRule&) = default;
};

struct Authorization {
  AuthorizationAction default_action = AuthorizationAction::kDeny;
  std::vector<AuthorizationRule> rules;
  friend bool operator==(const Authorization&, const Authorization&) = default;
};

struct RateLimit {
  std::uint32_t requests_per_second = 1;
  std::uint32_t burst = 1;  // resolved: never below requests_per_second
  friend bool operator==(const RateLimit&, const RateLimit&) = default;
};

// Server side of one MeshPolicy. Inbound::policies is in precedence order: for
// each section, a proxy uses the first policy that selects its pod (by labels),
// covers the inbound port, and sets that section.
struct InboundPolicy {
  std::string name;  // MeshPolicy name
  LabelSelector pod_selector;
  std::vector<std::uint16_t> ports;  // pod (target) ports, sorted; empty: every port
  std::optional<MtlsMode> mtls;
  std::optional<Authorization> authorization;
  std::optional<RateLimit> rate_limit;
  friend bool operator==(const InboundPolicy&, const InboundPolicy&) = default;
};

// What a proxy decides for inbound traffic that no policy's `authorization`
// covers (the namespace's default, docs/crds.md "Default inbound policy").
// The kubelet's probes of the pod are admitted whatever it says.
enum class DefaultInboundPolicy {
  kAllUnauthenticated,  // every client, meshed or not (the default)
  kAllAuthenticated,    // only meshed clients (an mTLS identity of the trust domain)
  kSameNamespace,       // only meshed clients of the document's own namespace
  kDeny,                // nothing
};

struct Inbound {
  std::vector<InboundPolicy> policies;
  // Serialized as "defaultPolicy" ("all-unauthenticated", "all-authenticated",
  // "same-namespace", "deny"); omitted when kAllUnauthenticated.
  DefaultInboundPolicy default_policy = DefaultInboundPolicy::kAllUnauthenticated;
  friend bool operator==(const Inbound&, const Inbound&) = default;
};

// ---- identity: what mTLS between proxies needs -------------------------------

// Present when the control plane has a trust bundle (docs/identity.md): the
// proxies of the namespace then obtain a certificate and use mTLS to meshed
// endpoints. Absent: the mesh runs in plaintext.
struct IdentityConfig {
  std::string trust_domain;       // e.g. "cluster.local"
  std::string trust_anchors_pem;  // one or more PEM certificates (the root CAs)
  friend bool operator==(const IdentityConfig&, const IdentityConfig&) = default;
};

// Limits parse() and validate() apply to the identity section. The bundle holds
// a few root certificates (more than one only during a rotation); 64 KiB leaves
// room for dozens while keeping a bad ConfigMap from bloating every document.
inline constexpr std::size_t kMaxTrustAnchorsPemBytes = kMaxTrustAnchorsBytes;

struct Document {
  int version = kDocumentVersion;
  std::string ns;  // the namespace whose proxies use this document
  Outbound outbound;
  Inbound inbound;
  std::optional<IdentityConfig> identity{};
  friend bool operator==(const Document&, const Document&) = default;
};

}  // namespace weft::proxyconfig
