#pragma once

// Names and numbers that the webhook writes into pods and the proxy and operator
// rely on. They are defined once here so the programs cannot drift apart.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace weft {

// The proxy runs as this fixed non-root UID; weft-init's iptables rules exempt
// it, otherwise the proxy's own connections would be captured back into itself.
inline constexpr std::uint32_t kProxyUid = 2102;

// Proxy ports. weft-init redirects the pod's outbound TCP to the outbound port
// and inbound TCP to the inbound port; the admin port (metrics, readiness,
// log level) is skipped by capture so the kubelet and Prometheus reach it.
inline constexpr std::uint16_t kProxyOutboundPort = 4140;
inline constexpr std::uint16_t kProxyInboundPort = 4143;
inline constexpr std::uint16_t kProxyAdminPort = 4191;
static_assert(kProxyOutboundPort != kProxyInboundPort && kProxyInboundPort != kProxyAdminPort &&
                  kProxyOutboundPort != kProxyAdminPort,
              "proxy ports must be distinct");

// Injected container names. The webhook looks for them to stay idempotent on
// reinvocation, so the name is the identity of the injection.
inline constexpr std::string_view kProxyContainerName = "weft-proxy";
inline constexpr std::string_view kInitContainerName = "weft-init";

// Opt-in: the namespace label, and the pod annotation of the same key that
// overrides it, with their two values.
inline constexpr std::string_view kInjectLabel = "weft.io/inject";
inline constexpr std::string_view kInjectAnnotation = kInjectLabel;
inline constexpr std::string_view kInjectEnabled = "enabled";
inline constexpr std::string_view kInjectDisabled = "disabled";

// Per-pod knobs are annotations under this prefix (e.g. config.weft.io/log-level).
inline constexpr std::string_view kConfigAnnotationPrefix = "config.weft.io/";

// Control plane namespace: the operator and webhook run here, and the webhook
// never injects into it.
inline constexpr std::string_view kControlPlaneNamespace = "weft-system";

// Proxy configuration: the operator writes one ConfigMap per meshed namespace
// with the document under kProxyConfigKey; the webhook mounts it at
// kProxyConfigMountPath, so the proxy reads kProxyConfigMountPath/kProxyConfigKey.
inline constexpr std::string_view kProxyConfigMapName = "weft-proxy-config";
inline constexpr std::string_view kProxyConfigKey = "config.json";
inline constexpr std::string_view kProxyConfigMountPath = "/var/run/weft/config";
// The document's content hash is also set on the ConfigMap as this annotation,
// so the operator can skip unchanged writes without parsing the data.
inline constexpr std::string_view kProxyConfigHashAnnotation = "weft.io/config-hash";
// The operator's summary of a meshed namespace's proxies (docs/operator.md,
// "Proxy health"); read by users, never by the proxies.
inline constexpr std::string_view kProxyHealthConfigMapName = "weft-proxy-health";
// The apiserver refuses a ConfigMap whose data exceeds 1 MiB. The operator
// refuses to write a larger document (never a truncated one) and reports it.
inline constexpr std::size_t kProxyConfigMaxBytes = 1024 * 1024;
// Labels the operator puts on what it generates, to find and own those objects.
inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kOperatorName = "weft-operator";
// The trust anchors (root CAs) weft-identity publishes, PEM, in the control
// plane's namespace; the operator copies them into every proxy document.
inline constexpr std::string_view kTrustAnchorsConfigMapName = "weft-identity-trust-anchors";
inline constexpr std::string_view kTrustAnchorsKey = "ca-bundle.crt";
// Its largest size: what every proxy document carries. A few root
// certificates (more than one only during a rotation) fit many times over;
// weft-identity refuses a larger bundle rather than publish one the
// documents would leave out.
inline constexpr std::size_t kMaxTrustAnchorsBytes = 64 * 1024;

// Workload identity: the webhook mounts a projected service-account token with
// this audience under kIdentityMountPath; the proxy presents it to weft-identity
// to obtain its certificate (its key and certificate stay in its memory), and
// weft-identity accepts only this audience.
inline constexpr std::string_view kIdentityMountPath = "/var/run/weft/identity";
inline constexpr std::string_view kIdentityTokenFile = "token";
inline constexpr std::string_view kIdentityTokenAudience = "identity.weft.io";
// weft-identity, as proxies reach it: its Service's name (which its serving
// certificate must carry as a DNS SAN, whatever address the proxy dials) and
// port; the proxy's variables that may point it elsewhere.
inline constexpr std::string_view kIdentityServerName = "weft-identity.weft-system.svc";
inline constexpr std::uint16_t kIdentityPort = 8443;
inline constexpr std::string_view kEnvIdentityAddress = "WEFT_PROXY_IDENTITY_ADDRESS";
inline constexpr std::string_view kEnvIdentityTokenFile = "WEFT_PROXY_IDENTITY_TOKEN_FILE";

// Per-pod knobs the webhook reads (values are validated; a bad one denies the pod).
inline constexpr std::string_view kSkipInboundPortsAnnotation = "config.weft.io/skip-inbound-ports";
inline constexpr std::string_view kSkipOutboundPortsAnnotation =
    "config.weft.io/skip-outbound-ports";
inline constexpr std::string_view kSkipSubnetsAnnotation = "config.weft.io/skip-subnets";
inline constexpr std::string_view kOpaquePortsAnnotation = "config.weft.io/opaque-ports";
inline constexpr std::string_view kProxyCpuRequestAnnotation = "config.weft.io/proxy-cpu-request";
inline constexpr std::string_view kProxyCpuLimitAnnotation = "config.weft.io/proxy-cpu-limit";
inline constexpr std::string_view kProxyMemoryRequestAnnotation =
    "config.weft.io/proxy-memory-request";
inline constexpr std::string_view kProxyMemoryLimitAnnotation = "config.weft.io/proxy-memory-limit";
inline constexpr std::string_view kLogLevelAnnotation = "config.weft.io/log-level";
// Namespace annotation: the default inbound policy of its pods' proxies
// (all-unauthenticated, all-authenticated, same-namespace, deny), overriding
// the operator's --default-inbound-policy.
inline constexpr std::string_view kDefaultInboundPolicyAnnotation =
    "config.weft.io/default-inbound-policy";

// What the webhook records on an injected pod: the containers it added, how the
// proxy runs ("native" sidecar or "classic"), and the proxy's version.
inline constexpr std::string_view kInjectedAnnotation = "weft.io/injected";
inline constexpr std::string_view kSidecarModeAnnotation = "weft.io/sidecar-mode";
inline constexpr std::string_view kProxyVersionAnnotation = "weft.io/proxy-version";
// "sha256:" and the digest of the injected containers (webhook/pod.h has the
// rules). The operator takes a pod as meshed when it carries this annotation
// and the weft-proxy container.
inline constexpr std::string_view kInjectionSealAnnotation = "weft.io/injection-seal";

// Environment of the injected proxy (the downward API and the webhook's settings).
inline constexpr std::string_view kEnvPodName = "WEFT_PROXY_POD_NAME";
inline constexpr std::string_view kEnvPodNamespace = "WEFT_PROXY_POD_NAMESPACE";
inline constexpr std::string_view kEnvServiceAccount = "WEFT_PROXY_SERVICE_ACCOUNT";
inline constexpr std::string_view kEnvPodIp = "WEFT_PROXY_POD_IP";
// The pod's labels, as the downward API writes them (one key="value" per
// line), kept current by the kubelet: a volume the webhook adds to the proxy.
inline constexpr std::string_view kPodInfoVolumeName = "weft-podinfo";
inline constexpr std::string_view kPodInfoMountPath = "/var/run/weft/podinfo";
inline constexpr std::string_view kPodInfoLabelsFile = "labels";
inline constexpr std::string_view kEnvPodLabelsFile = "WEFT_PROXY_POD_LABELS_FILE";
inline constexpr std::string_view kEnvLogLevel = "WEFT_PROXY_LOG_LEVEL";
inline constexpr std::string_view kEnvOpaquePorts = "WEFT_PROXY_OPAQUE_PORTS";
// The proxy's ports as injected (the webhook's configuration may move them from
// the defaults above; the capture rules and the proxy must agree).
inline constexpr std::string_view kEnvInboundPort = "WEFT_PROXY_INBOUND_PORT";
inline constexpr std::string_view kEnvOutboundPort = "WEFT_PROXY_OUTBOUND_PORT";
inline constexpr std::string_view kEnvAdminPort = "WEFT_PROXY_ADMIN_PORT";

// Weft's own pods (operator, webhook) carry this label; the webhook's
// objectSelector excludes them, so the webhook never waits on itself.
inline constexpr std::string_view kComponentLabel = "weft.io/control-plane-component";

}  // namespace weft
