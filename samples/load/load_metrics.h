#pragma once

// weft-load's Prometheus metrics, served on --metrics-port when it runs as a
// long-lived load generator in the cluster:
//   weft_load_requests_total{outcome}       outcome: status code or failure name
//   weft_load_responses_by_version_total{version}
//   weft_load_responses_by_pod_total{pod}
//   weft_load_request_duration_ms           histogram

#include <optional>
#include <string>

#include "samples/load/responder.h"
#include "weft/metrics.h"

namespace weft::samples {

class LoadMetrics {
 public:
  explicit LoadMetrics(Registry& registry);
  void record(const std::string& outcome, const Responder& responder, double milliseconds);

 private:
  Family<Counter>& requests_;
  Family<Counter>& versions_;
  Family<Counter>& pods_;
  Histogram& duration_;
};

}  // namespace weft::samples
