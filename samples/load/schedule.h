#pragma once

// Constant-rate pacing: request i is due at start + i / rate, whatever the
// answers' latency (an open loop), so a slow service cannot slow the offered
// load down, only fill the concurrency. Rate 0 means "now": as fast as the
// concurrency allows.

#include <chrono>
#include <cstdint>

namespace weft::samples {

inline std::chrono::steady_clock::time_point due_time(std::chrono::steady_clock::time_point start,
                                                      std::uint64_t index, double rate) {
  if (rate <= 0) return start;
  const std::chrono::duration<double> offset(static_cast<double>(index) / rate);
  return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(offset);
}

}  // namespace weft::samples
