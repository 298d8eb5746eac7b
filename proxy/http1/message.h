#pragma once

// The parsed form of an HTTP/1.x message head. Strings are views into the
// connection's read buffer: a head is valid until that buffer is compacted,
// which the connection does only after the head has been forwarded.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/request/request.h"

namespace weft::proxy::http1 {

// The protocol-neutral header, so a parsed head's list is the Request's view.
using Header = proxy::Header;

// How the body of a message is delimited (RFC 9112 section 6).
enum class BodyKind {
  kNone,           // no body (or a zero Content-Length)
  kContentLength,  // exactly content_length bytes
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // a response read until the server closes (no framing)
};

// Limits on what a peer can make the proxy hold in memory for one head.
struct Limits {
  std::size_t max_head_bytes = 32 * 1024;
  std::size_t max_headers = 100;
  std::size_t max_chunk_line_bytes = 4096;  // chunk size line with its extensions
  std::size_t max_trailer_bytes = 8 * 1024;
};

// Fields shared by requests and responses.
struct MessageHead {
  int minor_version = 1;  // HTTP/1.<minor>
  std::vector<Header> headers;
  BodyKind body = BodyKind::kNone;
  std::uint64_t content_length = 0;
  // Responses only: the transfer codings applied before the final chunked
  // ("gzip" of "gzip, chunked"), relayed as they are; empty for plain chunked.
  std::string_view transfer_codings;
  bool keep_alive = true;  // the connection may carry another message after this one
  // Connection: upgrade with an Upgrade header (requests), or a 101 (responses).
  bool upgrade = false;
  std::string_view upgrade_protocol;

  // First header of that name (case-insensitive), or empty.
  std::string_view find(std::string_view name) const;
  // True when the Connection header lists this token (case-insensitive): such
  // headers are hop-by-hop and never forwarded.
  bool connection_lists(std::string_view token) const;
};

struct RequestHead : MessageHead {
  std::string_view method;
  std::string_view target;  // as received
  // The target with its path normalised (proxy/request/path.h), when that
  // changed it; routing and the upstream see this one, never the raw form.
  std::string normalized_target;
  std::string_view host;
  bool expect_continue = false;  // Expect: 100-continue

  // The target routed on and forwarded: normalized_target, or target.
  std::string_view routed_target() const {
    return normalized_target.empty() ? target : std::string_view(normalized_target);
  }
  std::string_view path() const;   // routed_target() without the query
  std::string_view query() const;  // after '?', or empty
};

// The layers' view of a parsed request head (views into the same bytes).
Request to_request(const RequestHead& head);

struct ResponseHead : MessageHead {
  int status = 0;
  std::string_view reason;

  bool is_interim() const { return status >= 100 && status < 200 && status != 101; }
};

// Case-insensitive ASCII comparison, for header names and tokens. Inline:
// every header of every message is compared with several names, and most
// comparisons end at the size check.
inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace weft::proxy::http1
