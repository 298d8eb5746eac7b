#pragma once

// The I/O shell around the reconcile (reconciler.h): watches feed the caches
// and the work queue, workers reconcile one key at a time (never the two keys
// of one namespace at once), and the reconciler writes through a KubeWriter.
// Every watched object maps to the namespace it lives in.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "operator/caches.h"
#include "operator/clock.h"
#include "operator/operator_metrics.h"
#include "operator/reconciler.h"
#include "operator/runner.h"
#include "operator/work_queue.h"
#include "operator/writer.h"
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
  // Where the trust bundle is (ConfigMap weft-identity-trust-anchors), and the
  // trust domain of the identities written into documents.
  std::string control_plane_ns = "weft-system";
  std::string trust_domain = "cluster.local";
  bool mtls_across_namespaces = true;
  ExportLimits export_limits{};
  std::chrono::milliseconds export_propagation_interval{10'000};
  // Proxy health tracking (proxy_health_tracker.h).
  ProxyHealthSettings proxy_health{};
  std::chrono::milliseconds proxy_health_write_interval{10'000};
  // Written into each namespace's document unless its annotation overrides it.
  proxyconfig::DefaultInboundPolicy default_inbound_policy =
      proxyconfig::DefaultInboundPolicy::kAllUnauthenticated;
};

class Controller {
 public:
  // The client is the controller's own: stop() shuts it down (a Lease is
  // released through another one).
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
  // Shuts the client down (a throttled request gives up at once), lets
  // reconciles in flight finish, then stops workers and watches. Idempotent.
  void stop();

  // One reconcile (what the workers run): key "<ns>" for the ConfigMap,
  // "status/<ns>" for the statuses of that namespace.
  Result<Action> reconcile(const std::string& key);

  // Updates the gauges and counters that are sampled (queue depth, watch restarts).
  void refresh_metrics();

 private:
  // Each change enqueues the object's namespace; with `every_namespace`, every
  // namespace (an object all documents depend on), then calls after_change.
  struct WatchScope {
    std::string label_selector{};
    std::string field_selector{};
    std::string ns{};  // "": all namespaces
    bool every_namespace = false;
    std::function<void()> after_change{};
  };
  template <typename T>
  void watch(const kube::ResourceType& type, Store<T>& store, T (*parse)(const nlohmann::json&),
             WatchScope scope = {});
  // Logs and counts a change of the identity state (trust bundle).
  void report_identity();
  std::vector<std::string> all_namespaces() const;  // the resync keys

  const std::shared_ptr<kube::Client> client_;
  Logger& logger_;
  OperatorMetrics& metrics_;
  const ControllerOptions options_;
  SteadyClock clock_;
  WorkQueue queue_;
  Caches caches_;
  KubeWriter writer_;
  Reconciler reconciler_;
  std::unique_ptr<Runner> runner_;
  std::vector<std::pair<std::string, std::unique_ptr<kube::Watcher>>> watchers_;
  std::mutex restarts_mutex_;
  std::map<std::string, std::uint64_t> restarts_seen_;
  std::atomic<bool> stopped_{false};
  std::mutex identity_mutex_;
  std::optional<IdentityState> identity_seen_;
};

}  // namespace weft::op
