#pragma once

// Plain-HTTP URLs given on the command line (downstreams, load targets):
// http://host[:port][/path[?query]]. No TLS: meshed traffic is encrypted by the
// proxies, not by the applications.

#include <cstdint>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::samples {

struct HttpUrl {
  std::string text;  // as given, for logs and response bodies
  std::string host;  // name or address, IPv6 without brackets
  std::uint16_t port = 80;
  std::string target;       // path and query, "/" at least
  std::string host_header;  // the Host header: host[:port], IPv6 in brackets
};

// Fails with a message naming what is wrong (scheme, empty host, bad port).
Result<HttpUrl> parse_http_url(std::string_view text);

}  // namespace weft::samples
