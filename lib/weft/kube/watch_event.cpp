#include "weft/kube/watch_event.h"

#include <fmt/format.h>

namespace weft::kube {

std::string_view to_string(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "ERROR";
}

namespace {
ApiError decode_error(std::string detail) {
  return make_error(ErrorKind::kDecode, "parse watch event", std::move(detail));
}
}  // namespace

Result<WatchEvent> parse_watch_event(std::string_view line) {
  nlohmann::json event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (event.is_discarded()) return decode_error("a line of the watch stream is not valid JSON");
  if (!event.is_object()) return decode_error("a watch event is not a JSON object");
  auto type = event.find("type");
  if (type == event.end() || !type->is_string()) {
    return decode_error("a watch event has no \"type\"");
  }
  auto object = event.find("object");
  if (object == event.end() || !object->is_object()) {
    return decode_error("a watch event has no \"object\"");
  }
  WatchEvent out;
  const auto& name = type->get_ref<const std::string&>();
  if (name == "ADDED") {
    out.type = WatchEventType::kAdded;
  } else if (name == "MODIFIED") {
    out.type = WatchEventType::kModified;
  } else if (name == "DELETED") {
    out.type = WatchEventType::kDeleted;
  } else if (name == "BOOKMARK") {
    out.type = WatchEventType::kBookmark;
  } else if (name == "ERROR") {
    out.type = WatchEventType::kError;
  } else {
    return decode_error(fmt::format("unknown watch event type \"{}\"", name.substr(0, 32)));
  }
  out.object = std::move(*object);
  return out;
}

WatchStreamParser::WatchStreamParser(std::size_t max_line_bytes)
    : max_line_bytes_(max_line_bytes) {}

Result<std::size_t> WatchStreamParser::feed(std::string_view chunk,
                                            const std::function<bool(WatchEvent&&)>& on_event) {
  std::size_t delivered = 0;
  while (!chunk.empty() && !stopped_) {
    auto newline = chunk.find('\n');
    std::string_view piece = chunk.substr(0, newline);
    if (buffer_.size() + piece.size() > max_line_bytes_) {
      buffer_.clear();
      return decode_error(fmt::format("a watch event is longer than {} bytes", max_line_bytes_));
    }
    if (newline == std::string_view::npos) {
      buffer_.append(piece);
      break;
    }
    chunk.remove_prefix(newline + 1);
    // Parse straight from the chunk when no earlier bytes are pending.
    std::string_view line = piece;
    if (!buffer_.empty()) {
      buffer_.append(piece);
      line = buffer_;
    }
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {  // keep-alive blank line
      buffer_.clear();
      continue;
    }
    auto event = parse_watch_event(line);
    buffer_.clear();
    if (!event) return event.error();
    ++delivered;
    if (!on_event(std::move(*event))) stopped_ = true;
  }
  return delivered;
}

}  // namespace weft::kube
