#pragma once

// Where `weftctl inject --manual` gets the injection settings: the same
// configuration the webhook in the cluster runs with, so that an injected
// manifest gives the pods the webhook would give. Either the cluster's (the
// ConfigMap the bundle mounts into the webhook, manifests/webhook.yaml), read
// through the API client, or a file (the JSON the webhook takes with --config)
// for pipelines without cluster access. Then what the webhook resolves at its
// start is resolved the same way: the sidecar mode from the Kubernetes version,
// and the identity address from the weft-identity Service.

#include <string>
#include <string_view>
#include <vector>

#include "webhook/config.h"
#include "weft/result.h"
#include "weftctl/context.h"

namespace weft::ctl::inject {

// The bundle's ConfigMap and the key the webhook reads (--config=.../config.json).
inline constexpr std::string_view kWebhookConfigMap = "weft-system/weft-webhook-config";
inline constexpr std::string_view kWebhookConfigKey = "config.json";
inline constexpr std::string_view kIdentityService = "weft-identity";

struct InjectorSource {
  std::string config_file;                                  // --injector-config: no cluster
  std::string config_map = std::string(kWebhookConfigMap);  // NS/NAME
  std::string kubernetes_version;  // for sidecarMode auto; "" asks the cluster
};

struct LoadedInjector {
  webhook::InjectorConfig config;  // sidecar mode resolved (native or classic)
  std::string origin;              // "ConfigMap weft-system/weft-webhook-config", "FILE"
  std::vector<std::string> notes;  // for stderr
};

// sidecarMode auto, decided from a gitVersion as the webhook decides it.
Result<bool> resolve_sidecar_mode(webhook::InjectorConfig& config, std::string_view git_version);

// The identity address the webhook injects: its default becomes the
// weft-identity Service's ClusterIP and first port (the Service link variables
// the webhook's pod gets), through webhook::resolve_identity_address. `service`
// is that Service's JSON, or null when it does not exist.
std::string identity_address_for(const std::string& configured, const nlohmann::json& service);

// Reads and resolves the configuration; an Error says what failed and what to
// give instead. The API client is asked for only when the file is not given,
// or the Kubernetes version is needed and not given.
Result<LoadedInjector> load_injector(const InjectorSource& source, const ClientFactory& client);

}  // namespace weft::ctl::inject
