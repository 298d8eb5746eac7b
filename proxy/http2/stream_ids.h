#pragma once

// The client stream ids a server connection never saw opened. RFC 9113
// section 5.1.1: a client may skip ids (they close implicitly), but a new
// stream's id must be above every id it used, and a smaller one is a
// connection error (PROTOCOL_ERROR). nghttp2 cannot tell a skipped id from
// one it has forgotten (a stream it closed: late trailers after a reset are
// a legal race), so it ignores a HEADERS below the highest id. Skipped ids
// cannot race: a HEADERS on one is always the peer's error. Pure; bounded
// (the most recent kMaxGaps runs of skipped ids are remembered).

#include <cstddef>
#include <cstdint>
#include <deque>

namespace weft::proxy::http2 {

class SkippedStreamIds {
 public:
  static constexpr std::size_t kMaxGaps = 16;

  // A HEADERS frame begins on client stream `id` (odd). False when `id` is
  // one the client skipped: the connection must end with PROTOCOL_ERROR.
  bool headers_allowed(std::int32_t id);

 private:
  struct Gap {
    std::int32_t first;
    std::int32_t last;
  };
  std::int32_t highest_ = -1;  // the highest id seen (-1: none; the next is 1)
  std::deque<Gap> gaps_;       // oldest first
};

}  // namespace weft::proxy::http2
