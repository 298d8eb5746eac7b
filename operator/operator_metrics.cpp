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
          "Proxy ConfigMap outcomes: applied, deleted, skipped_unchanged, too_large.", {"result"})),
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
          {"state"})) {}

void OperatorMetrics::set_identity_status(IdentityStatus status) {
  for (auto each :
       {IdentityStatus::kConfigured, IdentityStatus::kMissing, IdentityStatus::kInvalid}) {
    identity_state.with_labels({std::string(to_string(each))}).set(each == status ? 1 : 0);
  }
}

}  // namespace weft::op
