#pragma once

// The added latency of a sample app: a fixed duration ("5ms") or a uniform
// distribution around it ("5ms±2ms", or "5ms+-2ms" where typing ± is awkward).
// Durations use the CRDs' syntax (lib/weft/duration.h).

#include <chrono>
#include <random>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::samples {

struct LatencySpec {
  std::chrono::milliseconds base{0};
  std::chrono::milliseconds jitter{0};  // at most base, so a sample is never negative
};

Result<LatencySpec> parse_latency(std::string_view text);
// "5ms", "5ms±2ms"; "0s" for none.
std::string to_string(const LatencySpec& spec);

// Uniform in [base - jitter, base + jitter], microsecond resolution.
std::chrono::microseconds sample_latency(const LatencySpec& spec, std::mt19937_64& random);

}  // namespace weft::samples
