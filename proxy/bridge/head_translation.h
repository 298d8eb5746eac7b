#pragma once

// HTTP/1.1 heads and trailers to HTTP/2 header blocks and back, for requests
// carried between two proxies as HTTP/2 streams (docs/proxy.md, "HTTP/1.1
// between proxies as HTTP/2"). Pure: values in, values out, tested on values.
//
// The translation is where smuggling would enter, so it writes its own
// framing on each side and never copies one that came in: HTTP/1's
// connection-specific fields (Connection and what it lists, Keep-Alive,
// Proxy-Connection, Transfer-Encoding, Upgrade, TE other than "trailers")
// never become HTTP/2 fields, a body's length is stated once (the HTTP/1
// parser's or nghttp2's checked one), and a name or value a peer could use
// to split a head (CR, LF, NUL, a name that is no token, a pseudo-header
// where none belongs) is refused rather than copied.

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1/message.h"
#include "proxy/http2/header_list.h"

namespace weft::proxy::bridge {

// Marks an HTTP/2 stream between two proxies as an HTTP/1.1 request: the
// inbound proxy sends it to its app as HTTP/1.1. Honoured only on mTLS
// connections from a mesh identity; stripped from every other stream.
inline constexpr std::string_view kOriginalProtocolField = "weft-orig-proto";
inline constexpr std::string_view kHttp11 = "HTTP/1.1";

// Outbound: a parsed HTTP/1 request head as the HTTP/2 header block sent to
// the peer proxy, the marker included. `default_authority` stands in for a
// missing Host (HTTP/1.0). An absolute-form target gives :authority and an
// origin-form :path; "*" stays "*". False for a target HTTP/2 cannot carry
// (neither origin nor absolute form, nor "*"; no authority at all): that
// request keeps HTTP/1.
bool http1_request_to_http2(const http1::RequestHead& head, std::string_view default_authority,
                            http2::HeaderList& out);

// The block passes the checks the peer's nghttp2 makes of a request it
// receives (method, :authority and :path characters, field names and values,
// RFC 9113's) and its header list fits `max_list_size` (RFC 9113's size, 32
// more per field: the peer proxies share this limit). HTTP/1's parser takes
// some heads these refuse (a Host with a space, a head just under 32 KiB);
// sent anyway, each would be a stream error charged to the one connection
// every request of the pod shares with the peer, so such a request keeps
// HTTP/1 instead.
bool acceptable_as_http2(const http2::HeaderList& block, std::size_t max_list_size);

// Inbound: a marked stream's forwarded header block as the HTTP/1.1 request
// head for the app, framed by `body`: none, its content-length, or chunked.
// False (a 400) when a field could split the head.
struct Http1RequestOut {
  std::string head;         // the request line, the fields, the framing, CRLF
  std::string_view method;  // a view into the block (a HEAD's response has no body)
  http1::BodyKind body = http1::BodyKind::kNone;
  std::uint64_t content_length = 0;
};
bool http2_request_to_http1(const http2::HeaderList& block, bool has_body, Http1RequestOut& out);

// Inbound: the app's HTTP/1 response head as the HTTP/2 response block.
void http1_response_to_http2(const http1::ResponseHead& head, http2::HeaderList& out);

// Outbound: an HTTP/2 response head as the HTTP/1 response for the client.
struct Http1ResponseOut {
  int status = 0;
  http1::BodyKind body = http1::BodyKind::kNone;  // how the client's copy is framed
  bool close = false;                             // the client connection ends after it
};
struct ResponseContext {
  int client_minor_version = 1;
  bool head_request = false;
  bool end_at_head = false;  // the stream ended with its head: no body
  bool keep_alive = true;    // the client connection may carry another request
};
// False when the head cannot be relayed (no valid :status, a field that
// could split the head, a bad content-length): a 502.
bool http2_response_to_http1(const http2::HeaderList& head, const ResponseContext& context,
                             Http1ResponseOut& response, std::string& out);

// Trailers: HTTP/1 trailer lines ("Name: value\r\n", as the body decoder
// keeps them, the forbidden ones already left out) as HTTP/2 fields, and
// HTTP/2 trailer fields as HTTP/1 lines (pseudo-headers, fields that may not
// be trailers and fields that could split the lines left out).
void http1_trailers_to_http2(std::string_view lines, http2::HeaderList& out);
void http2_trailers_to_http1(const http2::HeaderList& fields, std::string& out);

}  // namespace weft::proxy::bridge
