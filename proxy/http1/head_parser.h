#pragma once

// An incremental parser for HTTP/1.x request and response heads (RFC 9112).
//
// The caller keeps the bytes: it calls parse_*() with everything received since
// the head started, again each time more arrives. The parser remembers how far
// it has scanned, so the total work stays linear however the bytes are split.
// It is strict where leniency lets two parsers disagree about where a message
// ends (request smuggling): bare LF, obsolete line folding, whitespace before a
// colon, repeated or malformed Content-Length, Content-Length together with
// Transfer-Encoding, and unknown transfer codings are all errors.

#include <string_view>

#include "proxy/http1/message.h"
#include "proxy/http1/parse_result.h"

namespace weft::proxy::http1 {

class HeadParser {
 public:
  explicit HeadParser(Limits limits = {}) : limits_(limits) {}

  // On success `consumed` counts the head's bytes (leading empty lines, which
  // RFC 9112 section 2.2 lets a server skip, included); the body starts there.
  ParseResult parse_request(std::string_view buffer, RequestHead& out);
  // request_method decides whether the response can have a body (HEAD cannot).
  // Errors carry status 502: a broken response is the upstream's fault.
  ParseResult parse_response(std::string_view buffer, std::string_view request_method,
                             ResponseHead& out);

  // Before parsing the next message on the same connection.
  void reset() { scanned_ = 0; }

 private:
  // Finds the blank line ending the head, rejecting bare LF on the way.
  // Returns kComplete with consumed = end of head, or kIncomplete, or an error.
  ParseResult find_head_end(std::string_view buffer, std::size_t start, int error_status);

  Limits limits_;
  std::size_t scanned_ = 0;
};

}  // namespace weft::proxy::http1
