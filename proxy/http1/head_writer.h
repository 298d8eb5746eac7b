#pragma once

// Serializes the heads the proxy forwards. Hop-by-hop headers (RFC 9110
// section 7.6.1: Connection and every header it names, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade) describe one
// connection, so they are dropped and the proxy writes its own framing.

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1/message.h"

namespace weft::proxy::http1 {

// True for the fixed hop-by-hop header names (not those a Connection header adds).
bool is_hop_by_hop(std::string_view name);

// How the forwarded message is framed on the next hop.
struct Framing {
  BodyKind body = BodyKind::kNone;
  std::uint64_t content_length = 0;
  bool close = false;  // add Connection: close
};

// Appends the request head for the upstream connection, always HTTP/1.1.
// A missing Host (HTTP/1.0 clients) is filled with default_host. An upgrade
// request keeps its Upgrade header and Connection: upgrade.
void write_request_head(std::string& out, const RequestHead& head, const Framing& framing,
                        std::string_view default_host);

// Appends the response head for the client, in the client's HTTP version.
void write_response_head(std::string& out, const ResponseHead& head, const Framing& framing,
                         int client_minor_version);

// A response the proxy itself answers with (400, 403, 429, 502, 503, 504...):
// a short text body naming the reason, and Connection: close when asked. To
// a HEAD, the same head without the body (RFC 9110 9.3.2: a body would be
// read as the start of the next response).
struct LocalResponseOptions {
  bool head_request = false;
  std::uint32_t retry_after_seconds = 0;  // not 0: a Retry-After header
};
void write_local_response(std::string& out, int status, std::string_view reason, bool close,
                          LocalResponseOptions options = {});

// Chunked encoding of forwarded body data.
void write_chunk_header(std::string& out, std::size_t size);
inline constexpr std::string_view kChunkEnd = "\r\n";
// The last chunk, the trailers (each line ending in CRLF) and the final CRLF.
void write_last_chunk(std::string& out, std::string_view trailers);

std::string_view reason_phrase(int status);

}  // namespace weft::proxy::http1
