#include "samples/common/url.h"

#include <charconv>

namespace weft::samples {

namespace {

constexpr std::string_view kScheme = "http://";

Result<std::uint16_t> parse_port(std::string_view text, std::string_view url) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return Error{"URL \"" + std::string(url) + "\": port must be a number from 1 to 65535"};
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view text) {
  const std::string quoted = "URL \"" + std::string(text) + "\"";
  if (!text.starts_with(kScheme)) return Error{quoted + ": only http:// URLs are supported"};
  std::string_view rest = text.substr(kScheme.size());
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl url;
  url.text = std::string(text);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.target.front() == '?') url.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return Error{quoted + ": user information is not supported"};
  }

  std::string_view port_text;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error{quoted + ": unclosed '[' in host"};
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{quoted + ": unexpected text after ']'"};
      port_text = after.substr(1);
      if (port_text.empty()) return Error{quoted + ": empty port"};
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return Error{quoted + ": empty port"};
    }
  }
  if (url.host.empty()) return Error{quoted + ": empty host"};
  if (!port_text.empty()) {
    auto port = parse_port(port_text, text);
    if (!port) return port.error();
    url.port = *port;
  }
  url.host_header = std::string(authority);
  return url;
}

}  // namespace weft::samples
