#pragma once

// gRPC as the layers see it: which requests are gRPC, their deadline
// (grpc-timeout), the status a response carries (grpc-status, in the
// headers of a trailers-only response or in the trailers), how the proxy's
// own answers and failures read as gRPC statuses, and Linkerd's
// success/failure classification of a status. Pure, tested on values.
//
// gRPC over HTTP/2: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
// Status codes: https://grpc.github.io/grpc/core/md_doc_statuscodes.html

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/request/outcome.h"

namespace weft::proxy::grpc {

// The canonical status codes, by their wire value.
enum class Status : std::uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};
inline constexpr int kMaxStatus = 16;

// A request is gRPC when its content-type is application/grpc, alone or
// followed by '+' (application/grpc+proto) or ';' (parameters); case-insensitive.
bool is_grpc_content_type(std::string_view content_type);

// A grpc-status header or trailer's value: a decimal integer 0..16 with no
// sign, space or leading zeros (other than "0" itself); nullopt otherwise
// (a peer's garbage is not a status; the caller counts it as Unknown).
std::optional<Status> parse_status(std::string_view value);

// The status's wire form ("0".."16") and its name for logs and docs
// ("OK", "UNAVAILABLE", ...).
std::string_view status_text(Status status);
std::string_view status_name(Status status);

// grpc-timeout: 1 to 8 ASCII digits then a unit, H M S m u n (hours,
// minutes, seconds, milliseconds, microseconds, nanoseconds). nullopt when
// malformed (the request then has no gRPC deadline, as gRPC servers do).
// The duration saturates rather than overflows.
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value);

// The gRPC status for an answer the proxy gives itself, so that a gRPC
// client reads a status rather than an HTTP error it cannot interpret
// (gRPC's own HTTP-to-status mapping, with the proxy's meaning of each):
// 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404
// UNIMPLEMENTED, 408 and 504 DEADLINE_EXCEEDED, 429 RESOURCE_EXHAUSTED, 502
// and 503 UNAVAILABLE, any other UNKNOWN.
Status status_for_local_answer(int http_status);

// Linkerd's classification: a gRPC response succeeded when its status is
// OK, and failed otherwise; one with no status at all (a stream reset, no
// trailers) failed too: the caller passes nullopt.
bool is_failure(std::optional<Status> status);

// A status that says the server failed, whoever called, for the balancer
// (gRPC failures travel in a 200): UNAVAILABLE (the server cannot serve now;
// also what a peer proxy answers for a 502 or 503) and DATA_LOSS. Not the
// statuses a client can cause at will: INTERNAL (a message the server cannot
// decode; a peer proxy's 400), UNKNOWN (a handler's plain error; a peer
// proxy's 431), DEADLINE_EXCEEDED (its own grpc-timeout), UNIMPLEMENTED,
// RESOURCE_EXHAUSTED, the argument errors.
bool is_server_failure(Status status);

}  // namespace weft::proxy::grpc
