#pragma once

// Errors of the Kubernetes API client, typed so callers can react to the kind
// (retry a Conflict with a fresh read, relist on Gone, give up on Forbidden)
// instead of parsing messages.

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "weft/result.h"

namespace weft::kube {

enum class ErrorKind {
  kBadRequest,        // 400, or a request the client refused to send (bad name, wrong scope)
  kUnauthorized,      // 401: no or rejected credentials
  kForbidden,         // 403: RBAC said no
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kConflict,          // 409 Conflict: resourceVersion precondition failed; re-read and retry
  kAlreadyExists,     // 409 with reason AlreadyExists: create of an existing name
  kGone,              // 410 or reason Expired: resourceVersion too old; relist
  kInvalid,           // 422: the object failed validation
  kTooManyRequests,   // 429: server-side throttling (API Priority and Fairness)
  kServerError,       // other 5xx
  kTimeout,           // client timeout, or a server 504 / reason Timeout / ServerTimeout
  kTransport,         // no HTTP answer: connection refused, TLS failure, stream cut
  kDecode,            // the answer was not the JSON it should be
  kConfig,            // kubeconfig / in-cluster configuration unusable
  kCancelled,         // stopped by the caller (stop_token)
  kOther,             // any other HTTP status
};

// "NotFound", "Conflict", ... (the names above without the k).
std::string_view to_string(ErrorKind kind);

// An API error. It is a weft::Error, so `return result.error();` works from a
// function returning weft::Result<T>; `message` is the full text for logs:
//   "GET /api/v1/namespaces/a/configmaps/b: 404 NotFound: configmaps \"b\" not found"
struct ApiError : weft::Error {
  ErrorKind kind = ErrorKind::kOther;
  int http_status = 0;  // 0 when there was no HTTP answer
  std::string reason;   // the apiserver Status `reason` (e.g. "AlreadyExists"), if any
  std::string detail;   // the apiserver Status `message`, or the transport error text
  std::string what;     // what was being done: "GET /api/v1/..."
  std::optional<std::chrono::seconds> retry_after;  // Retry-After / details.retryAfterSeconds
  nlohmann::json status;                            // the Status object as received (null if none)

  bool is(ErrorKind k) const { return kind == k; }
};

// Builds an ApiError with a composed message.
ApiError make_error(ErrorKind kind, std::string what, std::string detail, int http_status = 0,
                    std::string reason = {});

// Maps an HTTP status and its body (a metav1.Status JSON when the apiserver
// sent one; anything else is tolerated) to an ApiError.
ApiError error_from_response(std::string what, int http_status, std::string_view body);

// Maps a metav1.Status object (e.g. the object of a watch ERROR event) to an ApiError.
ApiError error_from_status(std::string what, const nlohmann::json& status);

// A value or an ApiError: weft::Result with the typed error, so callers can ask
// result.is_error(ErrorKind::kNotFound), and it converts to weft::Result<T>.
template <typename T>
using Result = weft::Result<T, ApiError>;

// The value of a Result that carries nothing but success.
struct Done {};

}  // namespace weft::kube
