#include "proxy/authz/pod_labels.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "weft/dns_name.h"

namespace weft::proxy::authz {
namespace {

constexpr std::size_t kMaxLabels = 16384;
constexpr std::size_t kMaxFileBytes = 2 * 1024 * 1024;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A label key's name part: 1 to 63 of [A-Za-z0-9-_.], alphanumeric at both ends.
bool is_label_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!is_alnum(name.front()) || !is_alnum(name.back())) return false;
  for (char c : name) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// `[prefix/]name`, the prefix a DNS subdomain (Kubernetes qualified name).
bool is_label_key(std::string_view key) {
  const std::size_t slash = key.find('/');
  if (slash == std::string_view::npos) return is_label_name(key);
  return is_dns_subdomain(key.substr(0, slash)) && is_label_name(key.substr(slash + 1));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::uint32_t> hex_value(std::string_view digits) {
  std::uint32_t value = 0;
  for (char c : digits) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    value = value * 16 + static_cast<std::uint32_t>(d);
  }
  return value;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Undoes Go's %q: the whole of `quoted` must be one double-quoted string.
std::optional<std::string> unquote(std::string_view quoted) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') return std::nullopt;
  const std::string_view body = quoted.substr(1, quoted.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '"') return std::nullopt;  // an unescaped quote ends the string early
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == body.size()) return std::nullopt;
    std::size_t hex_len = 0;
    switch (body[i]) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'x':
        hex_len = 2;
        break;
      case 'u':
        hex_len = 4;
        break;
      case 'U':
        hex_len = 8;
        break;
      default:
        return std::nullopt;
    }
    if (hex_len == 0) continue;
    if (body.size() - i - 1 < hex_len) return std::nullopt;
    const auto value = hex_value(body.substr(i + 1, hex_len));
    if (!value) return std::nullopt;
    i += hex_len;
    if (hex_len == 2) {
      out += static_cast<char>(*value);  // a raw byte, as Go writes invalid UTF-8
    } else {
      if (*value > 0x10FFFF || (*value >= 0xD800 && *value <= 0xDFFF)) return std::nullopt;
      append_utf8(out, *value);
    }
  }
  return out;
}

Error line_error(std::size_t line, std::string_view what) {
  return Error{"pod labels line " + std::to_string(line) + ": " + std::string(what)};
}

}  // namespace

Result<PodLabels> parse_pod_labels(std::string_view text) {
  if (text.size() > kMaxFileBytes) {
    return Error{"pod labels: the file is over " + std::to_string(kMaxFileBytes) + " bytes"};
  }
  PodLabels labels;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return line_error(line_number, "no `=`");
    const std::string_view key = line.substr(0, eq);
    if (!is_label_key(key)) return line_error(line_number, "not a label key");
    auto value = unquote(line.substr(eq + 1));
    if (!value) return line_error(line_number, "the value is not a Go-quoted string");
    if (labels.size() == kMaxLabels) {
      return line_error(line_number, "more than " + std::to_string(kMaxLabels) + " labels");
    }
    if (!labels.emplace(std::string(key), std::move(*value)).second) {
      return line_error(line_number, "duplicate key");
    }
  }
  return labels;
}

}  // namespace weft::proxy::authz
