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
    if (c == '%' || c == '\\' || c == '#' || c == ';') return true;
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F) return true;
    if (c == '/' && (i + 1 < path.size() && (path[i + 1] == '/' || dot_segment_at(path, i + 1)))) {
      return true;
    }
  }
  return false;
}

// A control byte (C0 or DEL): servers truncate or split on them.
bool is_control(unsigned char byte) {
  return byte < 0x20 || byte == 0x7F;
}

// Whether `bytes` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF): "%c0%af" must not become a '/' somewhere else.
bool valid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (b < 0x80) {
      ++i;
      continue;
    }
    if (b >= 0xC2 && b <= 0xDF) {
      len = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len >= bytes.size()) return false;
    for (std::size_t k = 1; k <= len; ++k) {
      const auto c = static_cast<unsigned char>(bytes[i + k]);
      if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return false;
    }
    i += len + 1;
  }
  return true;
}

}  // namespace

PathNormalization normalize_path(std::string_view path, std::string& out) {
  using Verdict = PathNormalization::Verdict;
  if (!path.starts_with('/') || !needs_work(path)) return {};

  // 1. Percent-decoding of unreserved characters; refusals.
  std::string decoded;
  decoded.reserve(path.size());
  std::string bytes;  // every escape decoded, to check UTF-8 as the server will see it
  bool high_bytes = false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') return {Verdict::kRefused, "backslash in path"};
    if (c == '\0') return {Verdict::kRefused, "NUL in path"};
    if (c == '#') return {Verdict::kRefused, "fragment '#' in path"};
    if (is_control(static_cast<unsigned char>(c))) {
      return {Verdict::kRefused, "control character in path"};
    }
    if (c != '%') {
      high_bytes = high_bytes || static_cast<unsigned char>(c) >= 0x80;
      decoded += c;
      bytes += c;
      continue;
    }
    const int high = i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(path[i + 2]) : -1;
    if (low < 0) return {Verdict::kRefused, "malformed percent-encoding in path"};
    const char byte = static_cast<char>(high * 16 + low);
    if (byte == '/' || byte == '\\') return {Verdict::kRefused, "encoded slash in path"};
    if (byte == '\0') return {Verdict::kRefused, "NUL in path"};
    if (is_control(static_cast<unsigned char>(byte))) {
      return {Verdict::kRefused, "control character in path"};
    }
    high_bytes = high_bytes || static_cast<unsigned char>(byte) >= 0x80;
    bytes += byte;
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

  if (high_bytes && !valid_utf8(bytes)) return {Verdict::kRefused, "invalid UTF-8 in path"};
  // "%252F", "%252e" or "%25%32%65" forward as an escape of an escape: one
  // more decoding by the application gives "%2F" or "%2e", and a second one
  // a '/' or a '.' that no rule saw. No honest client needs it.
  for (auto at = decoded.find("%25"); at != std::string::npos; at = decoded.find("%25", at + 1)) {
    if (at + 4 < decoded.size() && hex_value(decoded[at + 3]) >= 0 &&
        hex_value(decoded[at + 4]) >= 0) {
      return {Verdict::kRefused, "double percent-encoding in path"};
    }
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
    // "/..;/" is ".." to Tomcat and Spring but a name to a prefix match.
    const std::string_view name = segment.substr(0, segment.find(';'));
    if (name.size() != segment.size() && (name == "." || name == "..")) {
      return {Verdict::kRefused, "path parameter on a dot segment"};
    }
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
