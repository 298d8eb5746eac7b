#pragma once

// An HTTP/2 request's header block turned into the protocol-neutral Request
// the layers decide on, and into the header block forwarded upstream. Pure,
// tested on values. nghttp2 has already refused what RFC 9113 forbids
// (section 8.2: uppercase names, CR/LF/NUL in values, connection-specific
// fields, TE other than "trailers", misplaced or repeated pseudo-headers, a
// content-length DATA contradicts); what is left here is the proxy's own:
// the header list's size (431), the path normalised as HTTP/1's is (or
// 400), :authority or else Host, a content-length that says the body's size,
// and what gRPC needs (its deadline).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "proxy/http2/header_list.h"
#include "proxy/request/outcome.h"
#include "proxy/request/request.h"

namespace weft::proxy::http2 {

// As received.
struct RequestHead {
  HeaderList block;
  bool too_large = false;   // past the header list limit (fields dropped)
  bool end_stream = false;  // HEADERS carried END_STREAM: no body
};

struct ConvertedRequest {
  // Views into the head and the members below: not copied nor moved after
  // to_request() filled it.
  Request request;
  // The regular fields; room for kFirstHeaders at first, in a recycled block.
  static constexpr std::size_t kFirstHeaders = 8;
  std::vector<Header, RecyclingAllocator<Header, kFirstHeaders>> headers;
  std::string path;                                      // normalised, with its query
  bool grpc = false;                                     // content-type application/grpc
  std::optional<std::chrono::nanoseconds> grpc_timeout;  // grpc-timeout, when valid
  LocalAnswer refusal;                                   // status != 0: answer this instead
  // The block to send upstream: the pseudo-headers (the normalised path)
  // and every regular field as received.
  HeaderList forwarded;
};

void to_request(const RequestHead& head, ConvertedRequest& out);

}  // namespace weft::proxy::http2
