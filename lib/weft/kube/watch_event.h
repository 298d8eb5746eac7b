#pragma once

// Watch events and the incremental parser of a watch stream: the apiserver
// sends one JSON object per line ({"type":"ADDED","object":{...}}), and the
// bytes arrive in chunks cut anywhere, even inside a multi-byte character.

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "weft/kube/error.h"

namespace weft::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

// "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR".
std::string_view to_string(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // The object; for kBookmark only metadata.resourceVersion is meaningful; for
  // kError a metav1.Status (see error_from_status).
  nlohmann::json object{};
};

// Parses one line of a watch stream. Fails (kDecode) on invalid JSON, an
// unknown type or a missing/non-object "object".
Result<WatchEvent> parse_watch_event(std::string_view line);

class WatchStreamParser {
 public:
  // A line longer than max_line_bytes is an error (protects memory from a
  // broken stream); the apiserver's own limit on an object is ~1.5 MiB, and
  // a watch event can be bigger than that only for huge CRs.
  explicit WatchStreamParser(std::size_t max_line_bytes = 16 * 1024 * 1024);

  // Feeds the next chunk; calls on_event for each complete event, in order.
  // Returns the number of events delivered, or the first error (the stream
  // must then be abandoned). on_event returns false to stop early, after
  // which feed() delivers nothing more.
  Result<std::size_t> feed(std::string_view chunk,
                           const std::function<bool(WatchEvent&&)>& on_event);

  // Bytes of an incomplete last line waiting for more.
  std::size_t pending_bytes() const { return buffer_.size(); }
  bool stopped() const { return stopped_; }

 private:
  const std::size_t max_line_bytes_;
  std::string buffer_;
  bool stopped_ = false;
};

}  // namespace weft::kube
