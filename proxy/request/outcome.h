#pragma once

// How one try of a request ended, and the answer the proxy gives when no
// usable response came back. Shared by every protocol: a codec reports a
// TryFailure, the layers decide on it.

#include <cstdint>
#include <string_view>

namespace weft::proxy {

// Why a try failed without a usable response.
enum class TryFailure {
  kNone,
  kConnect,         // no connection could be made (connect refused or timed out)
  kReset,           // the connection broke before a whole response head came
  kTimeout,         // a time limit passed: the try's, or the request's deadline
  kBadResponse,     // the response head was malformed
  kBadRequestBody,  // the client's body broke its framing
  kClientGone,      // the client went away: nobody to answer
};

// A response the proxy writes itself.
struct LocalAnswer {
  int status = 0;
  std::string_view reason;
  bool close = false;  // close the client connection after it, whatever keep-alive says
  std::uint32_t retry_after_seconds = 0;  // not 0: sent as Retry-After (a 429)
};

// The answer to a request whose last try failed: 504 for a timeout, 400 for a
// malformed request body, 502 for the rest. (kNone and kClientGone have no
// answer: status 0.)
LocalAnswer failure_status(TryFailure failure);

}  // namespace weft::proxy
