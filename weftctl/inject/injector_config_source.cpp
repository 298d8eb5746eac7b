#include "weftctl/inject/injector_config_source.h"

#include "weft/constants.h"
#include "weft/file.h"
#include "weft/kube/resource.h"

namespace weft::ctl::inject {
namespace {

Result<std::shared_ptr<kube::Client>> client_or_error(const ClientFactory& client) {
  if (!client) return Error{"no API client"};
  return client();
}

Result<std::string> read_config_map(const InjectorSource& source, const ClientFactory& factory) {
  const auto slash = source.config_map.find('/');
  if (slash == std::string::npos) {
    return Error{"--webhook-config-map must be NAMESPACE/NAME, not '" + source.config_map + "'"};
  }
  const std::string ns = source.config_map.substr(0, slash);
  const std::string name = source.config_map.substr(slash + 1);
  auto client = client_or_error(factory);
  if (!client) return Error{"cannot reach the cluster: " + client.error().message};
  auto config_map = (*client)->get(kube::resources::config_maps(), ns, name);
  if (!config_map) {
    return Error{"cannot read ConfigMap " + source.config_map + ": " + config_map.error().message};
  }
  const auto data = config_map->find("data");
  if (data == config_map->end() || !data->is_object() ||
      !data->contains(std::string(kWebhookConfigKey)) ||
      !(*data)[std::string(kWebhookConfigKey)].is_string()) {
    return Error{"ConfigMap " + source.config_map + " has no " + std::string(kWebhookConfigKey)};
  }
  return (*data)[std::string(kWebhookConfigKey)].get<std::string>();
}

Result<std::string> server_version(const ClientFactory& factory) {
  auto client = client_or_error(factory);
  if (!client) return client.error();
  auto response = (*client)->raw({"GET", "/version", "", "application/json"});
  if (!response) return response.error();
  if (response->status != 200) {
    return Error{"GET /version answered " + std::to_string(response->status)};
  }
  const auto version = nlohmann::json::parse(response->body, nullptr, false);
  if (!version.is_object() || !version.contains("gitVersion") ||
      !version["gitVersion"].is_string()) {
    return Error{"GET /version gave no gitVersion"};
  }
  return version["gitVersion"].get<std::string>();
}

}  // namespace

Result<bool> resolve_sidecar_mode(webhook::InjectorConfig& config, std::string_view git_version) {
  if (config.sidecar_mode != webhook::SidecarMode::kAuto) return true;
  auto native = webhook::supports_native_sidecars(git_version);
  if (!native) return native.error();
  config.sidecar_mode = *native ? webhook::SidecarMode::kNative : webhook::SidecarMode::kClassic;
  return true;
}

std::string identity_address_for(const std::string& configured, const nlohmann::json& service) {
  // The kubelet's Service link variables: the ClusterIP and the first port,
  // none for a headless Service.
  std::string host;
  std::string port;
  if (service.is_object()) {
    const auto spec = service.value("spec", nlohmann::json::object());
    const auto ip = spec.value("clusterIP", std::string());
    const auto ports = spec.value("ports", nlohmann::json::array());
    if (!ip.empty() && ip != "None" && ports.is_array() && !ports.empty() &&
        ports[0].contains("port") && ports[0]["port"].is_number_integer()) {
      host = ip;
      port = std::to_string(ports[0]["port"].get<int>());
    }
  }
  return webhook::resolve_identity_address(configured, [&](const char* name) -> const char* {
    const std::string_view variable = name;
    if (variable == "WEFT_IDENTITY_SERVICE_HOST") return host.empty() ? nullptr : host.c_str();
    if (variable == "WEFT_IDENTITY_SERVICE_PORT") return port.empty() ? nullptr : port.c_str();
    return nullptr;
  });
}

Result<LoadedInjector> load_injector(const InjectorSource& source, const ClientFactory& client) {
  LoadedInjector loaded;
  const bool from_cluster = source.config_file.empty();
  std::string text;
  if (!from_cluster) {
    auto file = read_file(source.config_file);
    if (!file) return Error{"--injector-config: " + file.error().message};
    text = std::move(*file);
    loaded.origin = source.config_file;
  } else {
    auto read = read_config_map(source, client);
    if (!read) {
      return Error{"no injector configuration: " + read.error().message +
                   "; give --injector-config FILE (the JSON the webhook takes with --config) to "
                   "inject without a cluster"};
    }
    text = std::move(*read);
    loaded.origin = "ConfigMap " + source.config_map;
  }
  auto config = webhook::parse_config(text);
  if (!config) return Error{loaded.origin + ": " + config.error().message};
  loaded.config = std::move(*config);

  if (loaded.config.sidecar_mode == webhook::SidecarMode::kAuto) {
    std::string version = source.kubernetes_version;
    if (version.empty()) {
      auto asked = server_version(client);
      if (!asked) {
        return Error{"sidecarMode auto: cannot ask the API server its version (" +
                     asked.error().message +
                     "); give --kubernetes-version, or set sidecarMode in the configuration"};
      }
      version = *asked;
    }
    if (auto resolved = resolve_sidecar_mode(loaded.config, version); !resolved) {
      return Error{"--kubernetes-version: " + resolved.error().message};
    }
  }

  const std::string default_address =
      std::string(kIdentityServerName) + ":" + std::to_string(kIdentityPort);
  if (loaded.config.identity_address == default_address) {
    if (from_cluster) {
      auto factory = client_or_error(client);
      nlohmann::json service;
      if (factory) {
        auto found = (*factory)->get(kube::resources::services(),
                                     std::string(kControlPlaneNamespace), kIdentityService);
        if (found) {
          service = std::move(*found);
        } else if (!found.is_error(kube::ErrorKind::kNotFound)) {
          return Error{"cannot read Service " + std::string(kControlPlaneNamespace) + "/" +
                       std::string(kIdentityService) + ": " + found.error().message};
        }
      }
      loaded.config.identity_address =
          identity_address_for(loaded.config.identity_address, service);
    } else {
      loaded.notes.push_back(
          "identityAddress is the default (" + default_address +
          "): a webhook whose pod sees the weft-identity Service injects its ClusterIP instead, "
          "and then refuses pods injected with the name; set identityAddress in " +
          source.config_file + " to that address (kubectl -n weft-system get service " +
          std::string(kIdentityService) + ")");
    }
  }
  return loaded;
}

}  // namespace weft::ctl::inject
