#pragma once

// Outcome of feeding bytes to one of the HTTP/1 parsers. Errors carry the
// status the proxy answers with and a fixed reason for logs and the response
// body; they never throw (STYLE.md: no exceptions on untrusted traffic).

#include <cstddef>
#include <string_view>

namespace weft::proxy::http1 {

enum class ParseStatus { kIncomplete, kComplete, kError };

struct ParseError {
  int status = 0;  // 400, 431, 501, 505; 0 when there is no error
  std::string_view reason;
};

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  std::size_t consumed = 0;  // bytes of the head, when complete
  ParseError error;

  static ParseResult incomplete() { return {}; }
  static ParseResult complete(std::size_t consumed) {
    return {ParseStatus::kComplete, consumed, {}};
  }
  static ParseResult fail(int status, std::string_view reason) {
    return {ParseStatus::kError, 0, {status, reason}};
  }
};

}  // namespace weft::proxy::http1
