#pragma once

// The header block of an answer the proxy gives itself on HTTP/2: a status
// and a short text body for HTTP clients; for a gRPC request, a
// trailers-only response (HTTP 200, content-type application/grpc,
// grpc-status from the HTTP status gRPC's mapping gives, grpc-message the
// reason), since a gRPC client reads the status, not the HTTP one. Pure.

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http2/header_list.h"

namespace weft::proxy::http2 {

struct LocalResponse {
  HeaderList head;
  std::string body;  // empty for gRPC (all in the head) and HEAD requests
};

LocalResponse local_response(int status, std::string_view reason, bool grpc, bool head_request,
                             std::uint32_t retry_after_seconds = 0);

// grpc-message is percent-encoded (gRPC's PROTOCOL-HTTP2.md): bytes outside
// printable ASCII, and '%', as %XX.
std::string grpc_message(std::string_view text);

}  // namespace weft::proxy::http2
