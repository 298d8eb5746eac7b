#pragma once

// The I/O shell around the pure reconcile (namespace_plan.h): watches feed the
// caches and the work queue, workers reconcile one namespace at a time, and the
// result is applied to the API:
// - the ConfigMap by server-side apply, skipped when the cached one already
//   holds the same document; deleted when the namespace is no longer meshed;
// - the proxies' Role and RoleBinding next to it;
// - MeshRoute/MeshPolicy status by merge patch of the status subresource, only
//   when changed, with the cached resourceVersion as precondition (a
//   concurrent writer makes it fail with 409; the key is retried with backoff
//   once the cache has caught up);
// - Events for conditions that went wrong.
// The key of the queue is a namespace name: every watched object maps to the
// namespace it lives in.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "operator/clock.h"
#include "operator/model.h"
#include "operator/namespace_plan.h"
#include "operator/operator_metrics.h"
#include "operator/runner.h"
#include "operator/store.h"
#include "operator/work_queue.h"
#include "weft/kube/client.h"
#include "weft/kube/watcher.h"
#include "weft/log.h"

namespace weft::op {

struct ControllerOptions {
  int workers = 2;
  std::chrono::milliseconds resync_period{std::chrono::minutes(5)};
  std::string field_manager = "weft-operator";
  // Only namespaces with all these labels are reconciled (empty: every namespace).
  std::map<std::string, std::string> namespace_selector;
  // Writes happen only while this returns true (the leader check).
  std::function<bool()> may_write = [] { return true; };
};

class Controller {
 public:
  Controller(std::shared_ptr<kube::Client> client, Logger& logger, OperatorMetrics& metrics,
             ControllerOptions options);
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts every watch; caches fill in the background.
  void start_watches();
  bool caches_synced() const;
  bool wait_synced(std::chrono::milliseconds timeout) const;
  // Starts the workers and enqueues every known namespace (on becoming leader).
  void start_workers();
  // Lets reconciles in flight finish, then stops workers and watches. Idempotent.
  void stop();

  // One reconcile (what the workers run): key "<ns>" for the ConfigMap,
  // "status/<ns>" for the statuses of that namespace.
  Result<Action> reconcile(const std::string& key);

  // Updates the gauges and counters that are sampled (queue depth, watch restarts).
  void refresh_metrics();

 private:
  template <typename T>
  void watch(const kube::ResourceType& type, Store<T>& store, T (*parse)(const nlohmann::json&),
             std::string label_selector = {});
  void enqueue_namespace_of(const ObjectKey& key, bool is_namespace);
  NamespaceInput gather(const std::string& ns) const;
  bool selected(const NamespaceModel& ns) const;
  std::vector<std::string> all_namespaces() const;  // the resync keys

  // Each returns an error message, or "" on success.
  std::string apply_config(const NamespaceModel& ns, const NamespacePlan& plan);
  std::string delete_config(const std::string& ns);
  std::string write_statuses(const std::string& ns, const NamespaceInput& input,
                             const NamespacePlan& plan);
  void raise_event(const std::string& ns, const std::string& kind, const std::string& api_version,
                   const std::string& name, const std::string& uid, const std::string& type,
                   const std::string& reason, const std::string& message);

  const std::shared_ptr<kube::Client> client_;
  Logger& logger_;
  OperatorMetrics& metrics_;
  const ControllerOptions options_;
  SteadyClock clock_;
  WorkQueue queue_;
  std::unique_ptr<Runner> runner_;

  Store<NamespaceModel> namespaces_;
  Store<ServiceModel> services_;
  Store<EndpointSliceModel> endpoint_slices_;
  Store<PodModel> pods_;
  Store<MeshRouteModel> routes_;
  Store<MeshPolicyModel> policies_;
  Store<ConfigMapModel> config_maps_;
  std::vector<std::pair<std::string, std::unique_ptr<kube::Watcher>>> watchers_;
  std::mutex restarts_mutex_;
  std::map<std::string, std::uint64_t> restarts_seen_;

  // What we wrote, until the watch shows it: the cache may still hold the old
  // object right after a write, and comparing with it would write again.
  struct Written {
    std::string resource_version_before;  // of the cached object when we wrote
    std::string fingerprint;
  };
  std::mutex written_mutex_;
  std::map<std::string, Written> written_config_;  // by namespace
  std::map<std::string, Written> written_status_;  // by object uid
  std::set<std::string> rbac_applied_;             // namespaces whose Role/RoleBinding we applied
  std::set<std::string> too_large_;                // namespaces whose document is over the limit
  std::atomic<bool> stopped_{false};
};

}  // namespace weft::op
