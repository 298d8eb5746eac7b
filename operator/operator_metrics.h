#pragma once

// weft-operator's Prometheus metrics, declared in one place (docs/operator.md
// lists them). Registered once; the controller keeps references.

#include "operator/trust_anchors.h"
#include "weft/metrics.h"

namespace weft::op {

struct OperatorMetrics {
  explicit OperatorMetrics(Registry& registry);

  // Reconciles and failed reconciles by kind of key ("Namespace").
  Family<Counter>& reconciles;
  Family<Counter>& reconcile_errors;
  Family<Histogram>& reconcile_duration;  // seconds, by kind
  Gauge& queue_depth;                     // keys ready to be reconciled
  Family<Counter>& watch_restarts;        // relists after a failed or expired watch, by resource
  // ConfigMap writes by result: applied, deleted, skipped_unchanged, too_large,
  // failed (the API refused or did not answer; retried with the reconcile).
  Family<Counter>& config_map_writes;
  Counter& config_map_writes_skipped;  // convenience child of the above
  Family<Gauge>& config_bytes;         // size of each namespace's document
  // Services of a namespace left out of the other namespaces' documents by
  // the export limits (mesh_exports.h), by namespace.
  Family<Gauge>& exports_left_out;
  // Propagations of a namespace's exports put off to the end of
  // --export-propagation-interval.
  Counter& export_propagations_deferred;
  Family<Counter>& status_writes;  // by kind (MeshRoute, MeshPolicy)
  Counter& write_conflicts;        // 409 Conflict answers to our writes
  Family<Counter>& events;         // Events raised, by reason
  Gauge& leader;                   // 1 while this process holds the Lease
  Gauge& caches_synced;            // 1 once every watch delivered its first list
  // 1 for the current state of the trust bundle (configured, missing,
  // invalid), 0 for the others: whether documents carry identity.
  Family<Gauge>& identity_state;
  void set_identity_status(IdentityStatus status);
  // Proxy health (proxy_health.h): tracked pods by namespace and state,
  // restarts of their proxies seen by namespace, Events not raised within
  // --proxy-event-interval, summary writes put off by
  // --proxy-health-write-interval.
  Family<Gauge>& meshed_pods;
  Family<Counter>& proxy_restarts;
  Counter& proxy_events_suppressed;
  Counter& proxy_health_writes_deferred;
};

}  // namespace weft::op
