#include "operator/operator_metrics.h"

namespace weft::op {

OperatorMetrics::OperatorMetrics(Registry& registry)
    : reconciles(
          registry.counter("weft_operator_reconciles_total", "Reconciles run, by kind.", {"kind"})),
      reconcile_errors(registry.counter("weft_operator_reconcile_errors_total",
                                        "Reconciles that failed (retried with backoff), by kind.",
                                        {"kind"})),
      reconcile_duration(registry.histogram(
          "weft_operator_reconcile_duration_seconds", "Time spent in one reconcile, by kind.",
          {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, {"kind"})),
      queue_depth(
          registry.gauge("weft_operator_queue_depth", "Keys waiting to be reconciled.").get()),
      watch_restarts(registry.counter("weft_operator_watch_restarts_total",
                                      "Relists after a watch failed or expired, by resource.",
                                      {"resource"})),
      config_map_writes(registry.counter(
          "weft_operator_configmap_writes_total",
          "Proxy ConfigMap outcomes: applied, deleted, skipped_unchanged, too_large, failed.",
          {"result"})),
      config_map_writes_skipped(config_map_writes.with_labels({"skipped_unchanged"})),
      config_bytes(registry.gauge("weft_operator_proxy_config_bytes",
                                  "Size of the proxy configuration document, by namespace.",
                                  {"namespace"})),
      exports_left_out(registry.gauge(
          "weft_operator_exported_services_left_out",
          "All-meshed Services of a namespace that the other namespaces' documents do not list "
          "(over --max-exported-services or --max-exported-ports), by namespace.",
          {"namespace"})),
      export_propagations_deferred(
          registry
              .counter("weft_operator_export_propagations_deferred_total",
                       "Changes of a namespace's exported Services whose propagation to the "
                       "other namespaces waited for --export-propagation-interval.")
              .get()),
      status_writes(registry.counter("weft_operator_status_writes_total",
                                     "Status subresource writes, by kind.", {"kind"})),
      write_conflicts(registry
                          .counter("weft_operator_write_conflicts_total",
                                   "Writes refused with 409 Conflict (retried).")
                          .get()),
      events(
          registry.counter("weft_operator_events_total", "Events raised, by reason.", {"reason"})),
      leader(registry.gauge("weft_operator_leader", "1 while this replica holds the leader Lease.")
                 .get()),
      caches_synced(registry
                        .gauge("weft_operator_caches_synced",
                               "1 once every watched resource has been listed.")
                        .get()),
      identity_state(registry.gauge(
          "weft_operator_identity_state",
          "1 for the state of the trust anchors ConfigMap (configured, missing, invalid): only "
          "when configured do proxy documents carry identity and meshed traffic use mTLS.",
          {"state"})),
      meshed_pods(registry.gauge(
          "weft_operator_meshed_pods",
          "Meshed pods by namespace and proxy state (ready, not_ready, restarting, "
          "crash_looping, missing_proxy, version_skew): each pod in its most urgent state.",
          {"namespace", "state"})),
      proxy_restarts(registry.counter(
          "weft_operator_proxy_restarts_total",
          "Restarts of meshed pods' weft-proxy containers seen by the operator, by namespace.",
          {"namespace"})),
      proxy_events_suppressed(
          registry
              .counter("weft_operator_proxy_events_suppressed_total",
                       "Proxy health Events not raised: the same reason was raised for the "
                       "pod within --proxy-event-interval.")
              .get()),
      proxy_health_writes_deferred(
          registry
              .counter("weft_operator_proxy_health_writes_deferred_total",
                       "Changes of a namespace's weft-proxy-health summary put off to the end "
                       "of --proxy-health-write-interval.")
              .get()) {
  // Every result exists from the start, at 0, so that a rate or increase sees the
  // first failure (a counter born at 1 shows no increase: docs/alerts.md).
  for (const char* result : {"applied", "deleted", "skipped_unchanged", "too_large", "failed"}) {
    config_map_writes.with_labels({result});
  }
}

void OperatorMetrics::set_identity_status(IdentityStatus status) {
  for (auto each :
       {IdentityStatus::kConfigured, IdentityStatus::kMissing, IdentityStatus::kInvalid}) {
    identity_state.with_labels({std::string(to_string(each))}).set(each == status ? 1 : 0);
  }
}

}  // namespace weft::op
