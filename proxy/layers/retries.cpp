#include "proxy/layers/retries.h"

#include <algorithm>

#include "weft/backoff.h"

namespace weft::proxy {

bool should_keep_body(const proxyconfig::Retry* policy, bool known_length, std::uint64_t length,
                      bool expect_continue) {
  return policy != nullptr && known_length && length <= kMaxReplayBody && !expect_continue;
}

std::optional<proxyconfig::RetryCondition> retry_condition(TryFailure failure) {
  switch (failure) {
    case TryFailure::kConnect:
      return proxyconfig::RetryCondition::kConnectFailure;
    case TryFailure::kReset:
      return proxyconfig::RetryCondition::kReset;
    case TryFailure::kTimeout:
      return proxyconfig::RetryCondition::kTimeout;
    case TryFailure::kNone:
    case TryFailure::kBadResponse:
    case TryFailure::kBadRequestBody:
    case TryFailure::kClientGone:
      break;
  }
  return std::nullopt;
}

bool is_idempotent_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

bool retry_on_new_connection(const TryResult& result, bool connection_reused,
                             bool already_retried) {
  return result.failure == TryFailure::kReset && connection_reused && !already_retried &&
         result.idempotent && !result.response_started &&
         (result.replayable || !result.body_started);
}

namespace {

// The route's backoff as the project's one backoff rule: doubling from
// `backoff` up to 1,024 times it, with full jitter (any delay up to the
// ceiling), as Envoy and Linkerd retry; never more than kMaxRetryBackoff.
BackoffPolicy backoff_policy(const proxyconfig::Retry& policy) {
  const auto initial = std::min(policy.backoff, kMaxRetryBackoff);
  return {.initial = initial,
          .max = std::min(initial * 1024, kMaxRetryBackoff),
          .factor = 2.0,
          .jitter = 1.0};
}

}  // namespace

std::chrono::milliseconds backoff_ceiling(const proxyconfig::Retry& policy,
                                          std::uint32_t retry_number) {
  return backoff_delay(backoff_policy(policy),
                       retry_number == 0 ? 0 : int(std::min(retry_number - 1, 64u)), 0.0);
}

namespace {

// A response is retried for its HTTP status, or for the grpc-status its head
// carried (a gRPC failure comes with HTTP 200, so only grpc_codes name it).
bool policy_covers(const proxyconfig::Retry& policy, const TryResult& result) {
  if (result.failure == TryFailure::kNone) {
    const bool http_code =
        std::find(policy.codes.begin(), policy.codes.end(), result.status) != policy.codes.end();
    const bool grpc_code =
        result.grpc_status &&
        std::find(policy.grpc_codes.begin(), policy.grpc_codes.end(),
                  static_cast<std::uint8_t>(*result.grpc_status)) != policy.grpc_codes.end();
    return http_code || grpc_code;
  }
  const auto condition = retry_condition(result.failure);
  return condition && std::find(policy.conditions.begin(), policy.conditions.end(), *condition) !=
                          policy.conditions.end();
}

}  // namespace

RetryDecision decide_retry(const proxyconfig::Retry* policy, const TryResult& result,
                           std::uint32_t retries_done, RetryBudget* budget, std::mt19937_64& random,
                           const RequestTimeouts& timeouts, Clock::time_point now) {
  if (policy == nullptr || !policy_covers(*policy, result)) return {};
  // Only a request the proxy can send again, and only a connect failure for
  // a streamed body (nothing of it was sent).
  const bool can_replay =
      result.replayable || (result.failure == TryFailure::kConnect && !result.body_started);
  if (!can_replay || retries_done >= policy->attempts || deadline_passed(timeouts, now)) return {};
  Clock::duration backoff{};
  if (policy->backoff.count() > 0) {
    const double uniform01 = static_cast<double>(random() >> 11) * 0x1.0p-53;  // [0, 1)
    backoff = backoff_delay(backoff_policy(*policy), static_cast<int>(std::min(retries_done, 64u)),
                            uniform01);
  }
  // A retry that could not start before the deadline is not made (nor
  // charged to the budget): the request ends as a timeout at its deadline.
  if (timeouts.deadline && now + backoff >= *timeouts.deadline) {
    return {RetryVerdict::kDeadline, *timeouts.deadline - now};
  }
  if (budget != nullptr && !budget->try_withdraw(now)) return {RetryVerdict::kBudgetExhausted, {}};
  return {RetryVerdict::kRetry, backoff};
}

}  // namespace weft::proxy
