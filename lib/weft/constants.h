#pragma once

// Names and numbers that the webhook writes into pods and the proxy and operator
// rely on. They are defined once here so the programs cannot drift apart.

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

// Workload identity: the webhook mounts a projected service-account token with
// this audience under kIdentityMountPath; the proxy presents it to the operator
// to obtain its certificate, and the operator accepts only this audience.
inline constexpr std::string_view kIdentityMountPath = "/var/run/weft/identity";
inline constexpr std::string_view kIdentityTokenFile = "token";
inline constexpr std::string_view kIdentityTokenAudience = "identity.weft.io";

}  // namespace weft
