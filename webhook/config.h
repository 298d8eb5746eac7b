#pragma once

// The injection settings: every image, port and default the webhook writes into
// pods. Read once at start from the --config JSON file (unknown keys refused), so
// nothing injected comes from constants scattered in code; the defaults below
// come from weft/constants.h, shared with the proxy.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "weft/capture/rules.h"
#include "weft/constants.h"
#include "weft/result.h"
#include "weft/version.h"

namespace weft::webhook {

// Kubernetes resource quantities as text ("100m", "64Mi"); empty leaves it unset.
struct ResourceSettings {
  std::string cpu_request;
  std::string cpu_limit;
  std::string memory_request;
  std::string memory_limit;
};

// How the proxy is added: an init container with restartPolicy Always (Kubernetes
// 1.29+), or a regular container placed first. kAuto asks the API server's
// version at start (see resolve_sidecar_mode).
enum class SidecarMode { kAuto, kNative, kClassic };

struct InjectorConfig {
  std::string proxy_image = "weft/weft-proxy:0.1.0";
  std::string init_image = "weft/weft-init:0.1.0";
  std::string proxy_version{weft::version()};  // recorded in kProxyVersionAnnotation
  std::string image_pull_policy = "IfNotPresent";
  std::uint32_t proxy_uid = kProxyUid;
  std::uint16_t inbound_port = kProxyInboundPort;
  std::uint16_t outbound_port = kProxyOutboundPort;
  std::uint16_t admin_port = kProxyAdminPort;
  std::string ready_path = "/ready";  // on the admin port: startup/readiness probes
  std::string log_level = "info";
  SidecarMode sidecar_mode = SidecarMode::kAuto;
  // Classic mode: a postStart hook in the proxy container that returns once it is
  // ready; the kubelet starts the app containers only after it returns.
  std::vector<std::string> classic_wait_command = {"/weft-proxy", "wait-ready"};
  ResourceSettings proxy_resources{"100m", "1", "64Mi", "256Mi"};
  ResourceSettings init_resources{"10m", "100m", "16Mi", "32Mi"};
  std::int64_t identity_token_expiration_seconds = 3600;
  // Where the proxy asks weft-identity for its certificate (HOST:PORT); the
  // trust domain comes with the proxy document, not from here.
  std::string identity_address =
      std::string(kIdentityServerName) + ":" + std::to_string(kIdentityPort);
  // Cluster-wide capture exemptions, added to each pod's own annotations
  // (e.g. the cloud metadata address 169.254.169.254/32).
  std::vector<capture::PortRange> skip_inbound_ports;
  std::vector<capture::PortRange> skip_outbound_ports;
  std::vector<capture::Ipv4Subnet> skip_subnets;
  // What a pod's own skip annotations may exempt from capture (docs/webhook.md,
  // "Opting out of capture"). Within the allow-lists: anything. Beyond them,
  // only narrow skips: at most pod_skip_max_ports ports per list, and subnets
  // of prefix length pod_skip_min_prefix_length or longer (/24: 256 addresses).
  // Anything wider is refused, so 1-65535 or 0.0.0.0/0 needs the cluster
  // administrator's explicit allow-list.
  std::vector<capture::PortRange> pod_skip_allowed_inbound_ports;
  std::vector<capture::PortRange> pod_skip_allowed_outbound_ports;
  std::vector<capture::Ipv4Subnet> pod_skip_allowed_subnets;
  std::uint32_t pod_skip_max_ports = 16;
  int pod_skip_min_prefix_length = 24;
  // Namespaces whose injected pods may hold containers that can rewrite the
  // pod's capture rules: privileged, or adding NET_ADMIN, NET_RAW, SYS_ADMIN or
  // ALL (docs/webhook.md, "Containers that could undo capture"). "*" is every
  // namespace. Empty (the default): such pods are denied.
  std::vector<std::string> pod_network_admin_allowed_namespaces;
};

// The JSON file's keys are the camelCase field names (proxyImage, initImage,
// proxyVersion, imagePullPolicy, proxyUid, inboundPort, outboundPort, adminPort,
// readyPath, logLevel, sidecarMode "auto|native|classic", classicWaitCommand,
// proxyResources {cpuRequest, cpuLimit, memoryRequest, memoryLimit},
// initResources, identityTokenExpirationSeconds, identityAddress "host:port",
// skipInboundPorts, skipOutboundPorts, skipSubnets "a,b",
// podSkipAllowedInboundPorts, podSkipAllowedOutboundPorts, podSkipAllowedSubnets
// "a,b", podSkipMaxPorts, podSkipMinPrefixLength,
// podNetworkAdminAllowedNamespaces ["ns", ...] or ["*"]); each is optional.
Result<InjectorConfig> parse_config(std::string_view json_text);

// The address the proxy is told to reach weft-identity at. The default (the
// Service's DNS name) becomes its ClusterIP when the Service link variables
// the kubelet gives the webhook's own pod name it (WEFT_IDENTITY_SERVICE_HOST
// and _PORT: the Service lives in the webhook's namespace), so that proxies
// reach weft-identity on clusters without DNS and through a DNS outage; the
// proxy checks the certificate for the DNS name either way. A configured
// address is kept as it is. `env` looks a variable up (null: unset).
std::string resolve_identity_address(const std::string& configured,
                                     const std::function<const char*(const char*)>& env);
nlohmann::json to_json(const InjectorConfig& config);

// A Kubernetes quantity as the API server accepts it ("100m", "1.5", "64Mi", "1e3").
bool is_valid_quantity(std::string_view text);

// From the API server's /version gitVersion ("v1.34.4", "v1.29.0-gke.1"):
// whether native sidecars (SidecarContainers, on by default since 1.29) exist.
Result<bool> supports_native_sidecars(std::string_view git_version);

}  // namespace weft::webhook
