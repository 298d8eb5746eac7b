#include "proxy/http2/stream_ids.h"

namespace weft::proxy::http2 {

bool SkippedStreamIds::headers_allowed(std::int32_t id) {
  if (id <= 0 || id % 2 == 0) return true;  // not a client's stream: nghttp2's business
  if (id > highest_) {
    const std::int32_t next = highest_ + 2;
    if (id > next) {
      gaps_.push_back({next, id - 2});
      if (gaps_.size() > kMaxGaps) gaps_.pop_front();
    }
    highest_ = id;
    return true;
  }
  for (const Gap& gap : gaps_) {
    if (id >= gap.first && id <= gap.last) return false;
  }
  return true;
}

}  // namespace weft::proxy::http2
