#pragma once

// The retries layer: whether a failed try is sent again, after how long, and
// whether a request body is kept to make that possible. Pure decisions (the
// budget and the random source are passed in); the request path acts on them.
// Modelled on Envoy's router retry state and linkerd2-proxy's http/retry,
// reduced to what a MeshRoute's `retry` says: codes, gRPC codes, conditions, attempts,
// backoff with full jitter, a budget, and bodies small enough to replay.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "proxy/layers/timeouts.h"
#include "proxy/request/grpc.h"
#include "proxy/request/outcome.h"
#include "proxy/routing/retry_budget.h"
#include "weft/proxyconfig/document.h"

namespace weft::proxy {

// Bodies up to this size are kept whole so a failed try can be replayed.
inline constexpr std::uint64_t kMaxReplayBody = 64 * 1024;

// Kept whole: only on a route with retries, a body of known length within
// kMaxReplayBody, and not one the client sends only after a 100 Continue.
bool should_keep_body(const proxyconfig::Retry* policy, bool known_length, std::uint64_t length,
                      bool expect_continue);

// What one try came to, as the retry decision needs it.
struct TryResult {
  TryFailure failure = TryFailure::kNone;
  int status = 0;                 // the response's, when failure is kNone
  bool replayable = false;        // the whole request can be sent again
  bool body_started = false;      // part of a streamed body was sent
  bool response_started = false;  // some byte of a response arrived
  bool idempotent = false;        // the method is (RFC 9110 9.2.2): sending it twice is safe
  // A gRPC response's status when its head carried one (a trailers-only
  // response: the server's answer is complete); nullopt otherwise.
  std::optional<grpc::Status> grpc_status{};
};

// GET, HEAD, OPTIONS, TRACE, PUT and DELETE.
bool is_idempotent_method(std::string_view method);

// The policy condition a failure is (none for those never retried).
std::optional<proxyconfig::RetryCondition> retry_condition(TryFailure failure);

// A pooled connection the server had closed while idle: the request was not
// processed, so it goes once more on a new connection, outside the policy.
// Not once a byte of the response came: the server may have acted on it; nor
// for a method that is not idempotent (a POST the server received before the
// connection broke must not run twice), as Go's and curl's clients do.
bool retry_on_new_connection(const TryResult& result, bool connection_reused, bool already_retried);

enum class RetryVerdict {
  kDone,             // the result stands (a response, or a failure not to retry)
  kRetry,            // wait `backoff`, then try again
  kBudgetExhausted,  // retryable, but the budget refused: the result stands
  kDeadline,         // the request's deadline passes before the retry could start:
                     // wait `backoff` (until the deadline), then answer 504
};
struct RetryDecision {
  RetryVerdict verdict = RetryVerdict::kDone;
  Clock::duration backoff{};
};

// No wait between tries is longer, whatever the route says (the CRD accepts
// up to 99999h, which 1,024 times over would overflow the clock).
inline constexpr std::chrono::milliseconds kMaxRetryBackoff = std::chrono::hours(1);

// The ceiling of the retry_number-th backoff (1-based): backoff x 2^(n-1),
// the doubling capped at 2^10, and at kMaxRetryBackoff.
std::chrono::milliseconds backoff_ceiling(const proxyconfig::Retry& policy,
                                          std::uint32_t retry_number);

// After a try that ended at `now`, with `retries_done` retries already made.
// Draws from `random` only for a non-zero backoff; withdraws from the budget
// only for a retry it then makes.
RetryDecision decide_retry(const proxyconfig::Retry* policy, const TryResult& result,
                           std::uint32_t retries_done, RetryBudget* budget, std::mt19937_64& random,
                           const RequestTimeouts& timeouts, Clock::time_point now);

}  // namespace weft::proxy
