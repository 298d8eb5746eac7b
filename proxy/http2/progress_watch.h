#pragma once

// Whether a counter moved within a time limit, looked at on the one-second
// ticks: the write timeout (bytes the socket took while a write waits) and
// the stream idle limit (HEADERS and DATA either way). Pure: the caller
// passes the time.

#include <chrono>
#include <cstdint>
#include <optional>

namespace weft::proxy::http2 {

class ProgressWatch {
 public:
  using Clock = std::chrono::steady_clock;

  // `progress`: the counter now; `waiting`: progress is expected (a write is
  // under way; for a stream, always). True once the counter has not moved
  // for `limit` while waiting.
  bool stalled(std::uint64_t progress, bool waiting, Clock::time_point now, Clock::duration limit) {
    if (!waiting || progress != seen_ || !since_) {
      seen_ = progress;
      since_ = waiting ? std::optional<Clock::time_point>(now) : std::nullopt;
      return false;
    }
    return now - *since_ >= limit;
  }

 private:
  std::uint64_t seen_ = 0;
  std::optional<Clock::time_point> since_;
};

}  // namespace weft::proxy::http2
