#pragma once

// Which side of the pod a connection is on: inbound (to the pod's app) or
// outbound (from it). A label of most metrics.

#include <string_view>

namespace weft::proxy {

enum class Direction { kInbound, kOutbound };

constexpr std::string_view to_string(Direction direction) {
  return direction == Direction::kInbound ? "inbound" : "outbound";
}

}  // namespace weft::proxy
