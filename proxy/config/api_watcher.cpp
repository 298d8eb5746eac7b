#include "proxy/config/api_watcher.h"

#include <cstdlib>

#include "weft/constants.h"
#include "weft/kube/client.h"
#include "weft/kube/config.h"
#include "weft/kube/resource.h"

namespace weft::proxy {
namespace {

void offer(const nlohmann::json& config_map, ConfigStore& store, Logger& log) {
  const auto data = config_map.find("data");
  const std::string key(kProxyConfigKey);
  if (data == config_map.end() || !data->is_object() || !data->contains(key) ||
      !(*data)[key].is_string()) {
    log.warn("ConfigMap has no document under its key", {{"key", key}});
    return;
  }
  store.offer((*data)[key].get<std::string>(), ConfigSource::kApi);
}

}  // namespace

ApiWatcher::~ApiWatcher() {
  watcher_->stop();
}

Result<std::unique_ptr<ApiWatcher>> ApiWatcher::create(const Settings& settings, ConfigStore& store,
                                                       Logger& log) {
  if (settings.kube_watch == "off") return std::unique_ptr<ApiWatcher>();
  const bool in_cluster = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
  if (settings.kube_watch == "auto" && !in_cluster && settings.kubeconfig.empty()) {
    return std::unique_ptr<ApiWatcher>();
  }
  auto config = settings.kubeconfig.empty() ? kube::load_in_cluster_config()
                                            : kube::load_kubeconfig(settings.kubeconfig);
  if (!config.has_value()) {
    return Error{"ConfigMap watch: no API server credentials: " + config.error().message};
  }
  const std::string ns =
      settings.pod_namespace.empty() ? config.value().default_namespace : settings.pod_namespace;
  if (ns.empty()) return Error{"ConfigMap watch: unknown namespace (set --pod-namespace)"};
  config.value().user_agent = "weft-proxy";
  auto client = kube::Client::from_config(std::move(config.value()));
  if (!client.has_value()) return Error{"ConfigMap watch: " + client.error().message};

  kube::WatcherOptions options;
  options.ns = ns;
  options.field_selector = "metadata.name=" + std::string(kProxyConfigMapName);
  options.on_error = [&log](const kube::ApiError& why) {
    log.warn("ConfigMap watch restarts", {{"error", why.message}});
  };
  auto watcher = std::make_unique<kube::Watcher>(
      std::move(client.value()), kube::resources::config_maps(), std::move(options),
      [&store, &log](kube::WatcherEvent&& event) {
        switch (event.type) {
          case kube::WatcherEventType::kRestarted:
            for (const auto& object : event.objects) offer(object, store, log);
            break;
          case kube::WatcherEventType::kAdded:
          case kube::WatcherEventType::kModified:
            offer(event.object, store, log);
            break;
          case kube::WatcherEventType::kDeleted:
            log.warn("ConfigMap deleted: the last good configuration keeps serving");
            break;
        }
      });
  log.info("watching the ConfigMap through the API server",
           {{"namespace", ns}, {"name", kProxyConfigMapName}});
  return std::unique_ptr<ApiWatcher>(new ApiWatcher(std::move(watcher)));
}

}  // namespace weft::proxy
