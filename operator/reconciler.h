#pragma once

// One reconcile of one queue key, from the caches to the API through a Writer:
// - key "<ns>": the ConfigMap by server-side apply, skipped when the cached one
//   already holds the same document; the proxies' RoleBinding next to it,
//   applied again whenever the cache shows it missing or different (it is
//   watched, so a deleted one comes back at once; one whose roleRef differs,
//   which the API server will not change, is deleted and created again); both
//   deleted when the namespace is no longer meshed;
// - key "status/<ns>": MeshRoute/MeshPolicy status by merge patch of the
//   status subresource, only when changed, with the cached resourceVersion as
//   precondition (a concurrent writer makes it fail with 409; the key is
//   retried with backoff once the cache has caught up); Events for conditions
//   that went wrong.
// What was written is kept in a WriteMemory, pruned with the objects.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "operator/caches.h"
#include "operator/mesh_exports.h"
#include "operator/namespace_plan.h"
#include "operator/operator_metrics.h"
#include "operator/proxy_health_tracker.h"
#include "operator/runner.h"
#include "operator/write_memory.h"
#include "operator/writer.h"
#include "weft/log.h"
#include "weft/log_throttle.h"

namespace weft::op {

// Queue keys: "<namespace>" reconciles the ConfigMap and RoleBinding,
// "status/<namespace>" the statuses (namespace names cannot contain '/').
struct QueueKey {
  std::string ns;
  bool status = false;
};
QueueKey parse_queue_key(std::string_view key);
std::string status_queue_key(std::string_view ns);

// Counts a finished reconcile and logs a failure (the namespace, and the key).
void report_reconcile(Logger& logger, OperatorMetrics& metrics, const ReconcileReport& report);

struct ReconcilerOptions {
  // Only namespaces with all these labels are reconciled (empty: every namespace).
  std::map<std::string, std::string> namespace_selector;
  // Writes happen only while this returns true (the leader check).
  std::function<bool()> may_write = [] { return true; };
  // RFC 3339 time for condition transitions and Events.
  std::function<std::string()> now;
  // Other namespaces' meshed Services in each document (mesh_exports.h).
  bool mtls_across_namespaces = true;
  ExportLimits export_limits{};
  // At most one propagation of a namespace's exports to every other
  // namespace per interval: a change within it is propagated at its end (the
  // first change at once). Bounds the writes one namespace's author causes.
  std::chrono::milliseconds export_propagation_interval{10'000};
  // Proxy health (proxy_health_tracker.h): the expected version, the restart
  // window and the Events' interval; and at most one write of a namespace's
  // summary ConfigMap per interval (the first change at once).
  ProxyHealthSettings proxy_health{};
  std::chrono::milliseconds proxy_health_write_interval{10'000};
  std::function<std::chrono::steady_clock::time_point()> steady_now = [] {
    return std::chrono::steady_clock::now();
  };
};

class Reconciler {
 public:
  // enqueue: adds a key to the work queue (the status key after a ConfigMap).
  Reconciler(const Caches& caches, Writer& writer, Logger& logger, OperatorMetrics& metrics,
             ReconcilerOptions options, std::function<void(const std::string&)> enqueue);

  Result<Action> reconcile(const std::string& key);

  const WriteMemory& memory() const { return memory_; }

  // The meshed Services of every selected meshed namespace (mesh_exports.h).
  std::map<std::string, std::vector<proxyconfig::MeshedService>> all_exports() const;

 private:
  bool selected(const NamespaceModel& ns) const;
  // Every other namespace's document lists this one's exports: when they
  // changed since they were last propagated, they are all queued. Within the
  // propagation interval of the last time: nothing yet, and the delay after
  // which this namespace must be reconciled again to do it.
  std::optional<std::chrono::milliseconds> propagate_exports(
      const std::string& ns, const std::vector<proxyconfig::MeshedService>& exports);
  WriteResult apply_config(const NamespaceModel& ns, const NamespacePlan& plan);
  // A Warning Event (once per bad value) and a throttled log line when the
  // namespace's default-inbound-policy annotation is unknown.
  void report_default_policy(const NamespaceModel& ns, const std::string& problem);
  WriteResult apply_rbac(const NamespaceModel& ns);
  WriteResult delete_generated(const std::string& ns);
  // Proxy health of a meshed namespace: metrics, Events on pods that entered
  // a bad state, the summary ConfigMap. Sets `recheck` when the namespace must
  // be reconciled again (a pod leaving `restarting`, a summary write put off).
  WriteResult report_proxy_health(const NamespaceModel& ns, const NamespaceInput& input,
                                  std::optional<std::chrono::milliseconds>& recheck);
  // Its metric series and memory, when the namespace is no longer meshed.
  void forget_proxy_health(const std::string& ns);
  WriteResult write_statuses(const std::string& ns, const NamespaceInput& input,
                             const NamespacePlan& plan);
  void raise_event(const std::string& ns, const std::string& kind, const std::string& api_version,
                   const std::string& name, const std::string& uid, const std::string& type,
                   const std::string& reason, const std::string& message);

  const Caches& caches_;
  Writer& writer_;
  Logger& logger_;
  OperatorMetrics& metrics_;
  const ReconcilerOptions options_;
  const std::function<void(const std::string&)> enqueue_;
  WriteMemory memory_;
  LogThrottle default_policy_log_{std::chrono::minutes(1)};
  std::mutex exported_mutex_;
  struct Propagated {
    std::vector<proxyconfig::MeshedService> exports;  // as last propagated
    std::chrono::steady_clock::time_point at{};
    // A change since, not propagated yet: other namespaces may have read it
    // from the caches meanwhile, so it is propagated even if undone.
    bool pending = false;
  };
  std::map<std::string, Propagated> exported_;  // under exported_mutex_
  ProxyHealthTracker proxy_health_;
  std::mutex health_written_mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> health_written_;
};

// The wall clock as RFC 3339 ("2026-01-01T00:00:00Z").
std::string now_rfc3339();

}  // namespace weft::op
