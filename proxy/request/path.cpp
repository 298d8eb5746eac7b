#include "proxy/request/path.h"

#include <vector>

namespace weft::proxy {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// A segment of "." or ".." in `path` starting at `i` (just after a '/').
bool dot_segment_at(std::string_view path, std::size_t i) {
  const std::string_view rest = path.substr(i);
  return rest == "." || rest == ".." || rest.starts_with("./") || rest.starts_with("../");
}

// One pass that finds nothing to do on almost every request, so that the
// usual path costs no allocation.
bool needs_work(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%' || c == '\\') return true;
    if (c == '/' && (i + 1 < path.size() && (path[i + 1] == '/' || dot_segment_at(path, i + 1)))) {
      return true;
    }
  }
  return false;
}

}  // namespace

PathNormalization normalize_path(std::string_view path, std::string& out) {
  using Verdict = PathNormalization::Verdict;
  if (!path.starts_with('/') || !needs_work(path)) return {};

  // 1. Percent-decoding of unreserved characters; refusals.
  std::string decoded;
  decoded.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') return {Verdict::kRefused, "backslash in path"};
    if (c != '%') {
      decoded += c;
      continue;
    }
    const int high = i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(path[i + 2]) : -1;
    if (low < 0) return {Verdict::kRefused, "malformed percent-encoding in path"};
    const char byte = static_cast<char>(high * 16 + low);
    if (byte == '/' || byte == '\\') return {Verdict::kRefused, "encoded slash in path"};
    if (is_unreserved(byte)) {
      decoded += byte;
    } else {
      constexpr std::string_view kHex = "0123456789ABCDEF";
      decoded += '%';
      decoded += kHex[static_cast<std::size_t>(high)];
      decoded += kHex[static_cast<std::size_t>(low)];
    }
    i += 2;
  }

  // 2. Segments: empty ones (runs of '/') and "." dropped, ".." drops the
  // one before. A path whose last segment is empty, "." or ".." names a
  // directory and keeps its trailing '/'.
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::string_view rest = std::string_view(decoded).substr(1);
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    trailing_slash = segment.empty() || segment == "." || segment == "..";
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string normal;
  normal.reserve(decoded.size());
  for (const std::string_view segment : segments) {
    normal += '/';
    normal += segment;
  }
  if (normal.empty() || trailing_slash) normal += '/';
  if (normal == path) return {};
  out = std::move(normal);
  return {Verdict::kNormalized, {}};
}

}  // namespace weft::proxy
