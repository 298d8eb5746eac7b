#pragma once

// Watches this namespace's ConfigMap weft-proxy-config through the API server,
// with the pod's service-account token (the operator grants exactly that
// read), so a new document applies within a second instead of the kubelet's
// minute or so. Each version seen is offered to the ConfigStore; a deleted
// ConfigMap changes nothing (the last good document keeps serving).

#include <memory>

#include "proxy/config/config_store.h"
#include "proxy/settings.h"
#include "weft/kube/watcher.h"
#include "weft/log.h"

namespace weft::proxy {

class ApiWatcher {
 public:
  // nullptr (and no error) when --kube-watch is off, or auto outside a cluster.
  // An error when the watch was asked for ("on") but cannot be set up.
  static Result<std::unique_ptr<ApiWatcher>> create(const Settings& settings, ConfigStore& store,
                                                    Logger& log);
  ~ApiWatcher();
  void start() { watcher_->start(); }

 private:
  explicit ApiWatcher(std::unique_ptr<kube::Watcher> watcher) : watcher_(std::move(watcher)) {}
  std::unique_ptr<kube::Watcher> watcher_;
};

}  // namespace weft::proxy
