#pragma once

// What weft-load counts, and its summary as text or JSON:
//
//   requests      2000 in 20.0s (100.0/s)
//   success       99.60% (1992 of 2000 answered 2xx)
//   statuses      200: 1992  500: 8
//   latency ms    p50 2.10  p95 4.30  p99 8.00  max 12.00
//   versions      v1: 1801 (90.1%)  v2: 199 (9.9%)
//   pods          backend-v1-7d9f: 1801  backend-v2-5c8d: 199
//
// A request that got no response is counted under its failure ("timeout",
// "connect", "resolve", "io") in place of a status code. Latency covers every
// request, failed ones included (a timeout takes its whole timeout).

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "samples/common/http_client.h"
#include "samples/load/latency_samples.h"
#include "samples/load/responder.h"

namespace weft::samples {

// The status code as text, or the failure's name.
std::string outcome_label(const CallResult& result);

struct Tally {
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;                    // 2xx
  std::map<std::string, std::uint64_t> outcomes;  // outcome_label -> count
  std::map<std::string, std::uint64_t> versions;  // responses that named a version
  std::map<std::string, std::uint64_t> pods;      // responses that named a pod
  LatencySamples latencies;

  void record(const CallResult& result, const Responder& responder);
  // successes / requests, 0 when there were none.
  double success_rate() const;
};

std::string render_text(const Tally& tally, std::chrono::duration<double> elapsed);
nlohmann::ordered_json render_json(const Tally& tally, std::chrono::duration<double> elapsed);

}  // namespace weft::samples
