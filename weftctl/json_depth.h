#pragma once

// How deep a JSON text nests, read before it is parsed into a DOM: copying,
// printing or destroying a DOM recurses once per level, so 300,000 levels of
// `[` crash the process. Every JSON weftctl reads from a file or a cluster is
// held to the YAML reader's depth limit first.

#include <string_view>

namespace weft::ctl {

// Kubernetes objects nest a few tens of levels; YAML input is held to the same.
inline constexpr int kMaxDocumentDepth = 200;

// True if no object or array in `text` nests deeper than `max_depth` (the
// outermost value is level 1). Text that is not JSON passes: the parser
// that follows reports it.
bool json_depth_within(std::string_view text, int max_depth = kMaxDocumentDepth);

}  // namespace weft::ctl
