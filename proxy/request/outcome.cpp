#include "proxy/request/outcome.h"

namespace weft::proxy {

LocalAnswer failure_status(TryFailure failure) {
  switch (failure) {
    case TryFailure::kNone:
    case TryFailure::kClientGone:
      return {};
    case TryFailure::kConnect:
      return {502, "cannot connect to the upstream"};
    case TryFailure::kReset:
      return {502, "the upstream closed the connection"};
    case TryFailure::kTimeout:
      return {504, "the upstream did not answer in time"};
    case TryFailure::kBadResponse:
      return {502, "the upstream's response was malformed"};
    case TryFailure::kBadRequestBody:
      return {400, "malformed request body"};
  }
  return {502, "the upstream closed the connection"};
}

}  // namespace weft::proxy
