#include "samples/load/load_metrics.h"

namespace weft::samples {

LoadMetrics::LoadMetrics(Registry& registry)
    : requests_(registry.counter("weft_load_requests_total",
                                 "Requests sent, by outcome: the status code, or the failure "
                                 "(timeout, connect, resolve, io).",
                                 {"outcome"})),
      versions_(registry.counter("weft_load_responses_by_version_total",
                                 "Responses whose body named a version, by that version.",
                                 {"version"})),
      pods_(registry.counter("weft_load_responses_by_pod_total",
                             "Responses whose body named a pod, by that pod.", {"pod"})),
      duration_(registry
                    .histogram("weft_load_request_duration_ms",
                               "Time from sending a request to its outcome, in milliseconds.",
                               {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000})
                    .get()) {}

void LoadMetrics::record(const std::string& outcome, const Responder& responder,
                         double milliseconds) {
  requests_.with_labels({outcome}).inc();
  if (responder.version) versions_.with_labels({*responder.version}).inc();
  if (responder.pod) pods_.with_labels({*responder.pod}).inc();
  duration_.observe(milliseconds);
}

}  // namespace weft::samples
