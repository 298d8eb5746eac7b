#include "proxy/config/pod_labels_source.h"

namespace weft::proxy {

bool offer_pod_labels(std::string_view text, ConfigStore& store, ProxyMetrics& metrics,
                      Logger& log) {
  auto labels = authz::parse_pod_labels(text);
  if (!labels.has_value()) {
    metrics.pod_labels_reload_total.with_labels({"error"}).inc();
    log.error("pod labels refused, keeping the last good ones",
              {{"error", labels.error().message}});
    return false;
  }
  metrics.pod_labels_reload_total.with_labels({"ok"}).inc();
  log.info("pod labels read", {{"labels", labels.value().size()}});
  store.set_pod_labels(std::move(labels.value()));
  return true;
}

}  // namespace weft::proxy
