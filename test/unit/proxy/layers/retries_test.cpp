#include "proxy/layers/retries.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;
using namespace std::chrono_literals;

namespace {

const Clock::time_point kNow = Clock::time_point() + 1000h;

proxyconfig::Retry policy(std::chrono::milliseconds backoff = 0ms, std::uint32_t attempts = 2) {
  proxyconfig::Retry retry;
  retry.attempts = attempts;
  retry.codes = {503};
  retry.conditions = {proxyconfig::RetryCondition::kConnectFailure,
                      proxyconfig::RetryCondition::kTimeout};
  retry.backoff = backoff;
  return retry;
}

TryResult response(int status) {
  return {.failure = TryFailure::kNone, .status = status, .replayable = true};
}

TryResult failed(TryFailure failure, bool replayable = true, bool body_started = false) {
  return {.failure = failure,
          .status = 0,
          .replayable = replayable,
          .body_started = body_started,
          .idempotent = true};
}

}  // namespace

TEST_CASE("a body is kept for replay only on a retry route, small, sized, without 100-continue",
          "[retries]") {
  const proxyconfig::Retry retry = policy();
  CHECK(should_keep_body(&retry, true, 1000, false));
  CHECK(should_keep_body(&retry, true, kMaxReplayBody, false));
  CHECK_FALSE(should_keep_body(&retry, true, kMaxReplayBody + 1, false));
  CHECK_FALSE(should_keep_body(&retry, false, 10, false));  // chunked
  CHECK_FALSE(should_keep_body(&retry, true, 10, true));    // Expect: 100-continue
  CHECK_FALSE(should_keep_body(nullptr, true, 10, false));  // no retry policy
}

TEST_CASE("the policy's codes and conditions decide what is retried", "[retries]") {
  const proxyconfig::Retry retry = policy();
  std::mt19937_64 random(1);
  const RequestTimeouts none;
  CHECK(decide_retry(&retry, response(503), 0, nullptr, random, none, kNow).verdict ==
        RetryVerdict::kRetry);
  CHECK(decide_retry(&retry, response(500), 0, nullptr, random, none, kNow).verdict ==
        RetryVerdict::kDone);
  CHECK(decide_retry(&retry, response(200), 0, nullptr, random, none, kNow).verdict ==
        RetryVerdict::kDone);
  CHECK(
      decide_retry(&retry, failed(TryFailure::kConnect), 0, nullptr, random, none, kNow).verdict ==
      RetryVerdict::kRetry);
  CHECK(
      decide_retry(&retry, failed(TryFailure::kTimeout), 0, nullptr, random, none, kNow).verdict ==
      RetryVerdict::kRetry);
  // Reset is not among this policy's conditions; a malformed response never is.
  CHECK(decide_retry(&retry, failed(TryFailure::kReset), 0, nullptr, random, none, kNow).verdict ==
        RetryVerdict::kDone);
  CHECK(decide_retry(&retry, failed(TryFailure::kBadResponse), 0, nullptr, random, none, kNow)
            .verdict == RetryVerdict::kDone);
  CHECK(decide_retry(nullptr, response(503), 0, nullptr, random, none, kNow).verdict ==
        RetryVerdict::kDone);
}

TEST_CASE("a response's grpc-status is retried when the policy lists it", "[retries][grpc]") {
  proxyconfig::Retry retry = policy(0ms, 2);
  retry.grpc_codes = {static_cast<std::uint8_t>(grpc::Status::kResourceExhausted),
                      static_cast<std::uint8_t>(grpc::Status::kUnavailable)};
  std::mt19937_64 random(1);
  const auto grpc_response = [](grpc::Status status) {
    TryResult result = response(200);  // a trailers-only gRPC answer is HTTP 200
    result.grpc_status = status;
    return result;
  };
  CHECK(
      decide_retry(&retry, grpc_response(grpc::Status::kUnavailable), 0, nullptr, random, {}, kNow)
          .verdict == RetryVerdict::kRetry);
  CHECK(decide_retry(&retry, grpc_response(grpc::Status::kResourceExhausted), 0, nullptr, random,
                     {}, kNow)
            .verdict == RetryVerdict::kRetry);
  // Statuses the policy does not list, OK included, stand.
  for (const auto status : {grpc::Status::kOk, grpc::Status::kInternal, grpc::Status::kCancelled,
                            grpc::Status::kDeadlineExceeded}) {
    INFO(grpc::status_name(status));
    CHECK(decide_retry(&retry, grpc_response(status), 0, nullptr, random, {}, kNow).verdict ==
          RetryVerdict::kDone);
  }
  // No grpc-status in the head (a streamed answer, or not gRPC): only HTTP codes count.
  CHECK(decide_retry(&retry, response(200), 0, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kDone);
  CHECK(decide_retry(&retry, response(503), 0, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kRetry);
  // A policy without gRPC codes retries no gRPC status.
  const proxyconfig::Retry http_only = policy(0ms, 2);
  CHECK(decide_retry(&http_only, grpc_response(grpc::Status::kUnavailable), 0, nullptr, random, {},
                     kNow)
            .verdict == RetryVerdict::kDone);
}

TEST_CASE("gRPC retries keep to attempts, budget, deadline and replayability", "[retries][grpc]") {
  proxyconfig::Retry retry = policy(0ms, 2);
  retry.grpc_codes = {static_cast<std::uint8_t>(grpc::Status::kUnavailable)};
  TryResult unavailable = response(200);
  unavailable.grpc_status = grpc::Status::kUnavailable;
  std::mt19937_64 random(1);
  CHECK(decide_retry(&retry, unavailable, 1, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kRetry);
  CHECK(decide_retry(&retry, unavailable, 2, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kDone);

  RetryBudget budget({0, 1, 1s});  // one retry in the window
  CHECK(decide_retry(&retry, unavailable, 0, &budget, random, {}, kNow).verdict ==
        RetryVerdict::kRetry);
  CHECK(decide_retry(&retry, unavailable, 0, &budget, random, {}, kNow).verdict ==
        RetryVerdict::kBudgetExhausted);

  RequestTimeouts past;
  past.deadline = kNow;
  CHECK(decide_retry(&retry, unavailable, 0, nullptr, random, past, kNow).verdict ==
        RetryVerdict::kDone);

  TryResult streamed = unavailable;  // a streamed request body already sent
  streamed.replayable = false;
  streamed.body_started = true;
  CHECK(decide_retry(&retry, streamed, 0, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kDone);
}

TEST_CASE("attempts bound the retries", "[retries]") {
  const proxyconfig::Retry retry = policy(0ms, 2);
  std::mt19937_64 random(1);
  CHECK(decide_retry(&retry, response(503), 1, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kRetry);
  CHECK(decide_retry(&retry, response(503), 2, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kDone);
}

TEST_CASE("a streamed body is retried only after a connect failure that sent nothing",
          "[retries]") {
  const proxyconfig::Retry retry = policy();
  std::mt19937_64 random(1);
  CHECK(
      decide_retry(&retry, failed(TryFailure::kConnect, false, false), 0, nullptr, random, {}, kNow)
          .verdict == RetryVerdict::kRetry);
  CHECK(
      decide_retry(&retry, failed(TryFailure::kTimeout, false, true), 0, nullptr, random, {}, kNow)
          .verdict == RetryVerdict::kDone);
  TryResult streamed = response(503);
  streamed.replayable = false;
  streamed.body_started = true;
  CHECK(decide_retry(&retry, streamed, 0, nullptr, random, {}, kNow).verdict ==
        RetryVerdict::kDone);
}

TEST_CASE("a retry the budget refuses leaves the result as it is", "[retries]") {
  const proxyconfig::Retry retry = policy();
  RetryBudget budget({0, 1, 1s});  // one retry in the window
  std::mt19937_64 random(1);
  CHECK(decide_retry(&retry, response(503), 0, &budget, random, {}, kNow).verdict ==
        RetryVerdict::kRetry);
  CHECK(decide_retry(&retry, response(503), 0, &budget, random, {}, kNow).verdict ==
        RetryVerdict::kBudgetExhausted);
}

TEST_CASE("backoff: exponential with full jitter, the doubling capped", "[retries]") {
  const proxyconfig::Retry retry = policy(25ms, 20);
  CHECK(backoff_ceiling(retry, 1) == 25ms);
  CHECK(backoff_ceiling(retry, 2) == 50ms);
  CHECK(backoff_ceiling(retry, 3) == 100ms);
  CHECK(backoff_ceiling(retry, 11) == 25ms * 1024);
  CHECK(backoff_ceiling(retry, 20) == 25ms * 1024);
  std::mt19937_64 random(7);
  bool below_half = false;
  for (int i = 0; i < 200; ++i) {
    const RetryDecision decision =
        decide_retry(&retry, response(503), 2, nullptr, random, {}, kNow);
    REQUIRE(decision.verdict == RetryVerdict::kRetry);
    CHECK(decision.backoff >= 0ms);
    CHECK(decision.backoff <= 100ms);
    below_half = below_half || decision.backoff < 50ms;
  }
  CHECK(below_half);  // full jitter: from zero, not from half the ceiling
}

TEST_CASE("a backoff of days waits at most an hour, with no overflow", "[retries]") {
  // 99999h is what the CRD's pattern allows; 1,024 times it in nanoseconds
  // would overflow the clock.
  const proxyconfig::Retry retry = policy(99999h, 10);
  CHECK(backoff_ceiling(retry, 1) == kMaxRetryBackoff);
  CHECK(backoff_ceiling(retry, 8) == kMaxRetryBackoff);
  std::mt19937_64 random(1);
  for (std::uint32_t done = 0; done < 10; ++done) {
    const RetryDecision decision =
        decide_retry(&retry, response(503), done, nullptr, random, {}, kNow);
    REQUIRE(decision.verdict == RetryVerdict::kRetry);
    CHECK(decision.backoff <= kMaxRetryBackoff);
    CHECK(decision.backoff >= Clock::duration::zero());
  }
}

TEST_CASE("the request's deadline bounds the backoff", "[retries][deadline]") {
  // A minute of backoff ceiling, 300 ms left of the request: the retry cannot
  // start before the deadline, so it is not made and the request ends at the
  // deadline (504), not after the backoff.
  const proxyconfig::Retry retry = policy(60s, 3);
  RetryBudget budget({0, 1, 1s});
  RequestTimeouts timeouts;
  timeouts.deadline = kNow + 300ms;
  std::mt19937_64 random(3);
  const RetryDecision decision =
      decide_retry(&retry, response(503), 0, &budget, random, timeouts, kNow);
  CHECK(decision.verdict == RetryVerdict::kDeadline);
  CHECK(decision.backoff == 300ms);
  // Not charged to the budget: its one retry is still there.
  CHECK(budget.try_withdraw(kNow));

  // A backoff that ends before the deadline is waited as drawn.
  const proxyconfig::Retry short_retry = policy(10ms, 3);
  const RetryDecision quick =
      decide_retry(&short_retry, response(503), 0, nullptr, random, timeouts, kNow);
  CHECK(quick.verdict == RetryVerdict::kRetry);
  CHECK(quick.backoff <= 10ms);

  // After the deadline, nothing is retried: the last result stands.
  CHECK(decide_retry(&short_retry, response(503), 0, nullptr, random, timeouts, kNow + 300ms)
            .verdict == RetryVerdict::kDone);
}

TEST_CASE("a pooled connection closed while idle is retried once on a new one", "[retries]") {
  CHECK(retry_on_new_connection(failed(TryFailure::kReset), true, false));
  CHECK_FALSE(retry_on_new_connection(failed(TryFailure::kReset), true, true));    // once
  CHECK_FALSE(retry_on_new_connection(failed(TryFailure::kReset), false, false));  // new connection
  CHECK_FALSE(retry_on_new_connection(failed(TryFailure::kTimeout), true, false));
  // A streamed body: only if none of it was sent.
  CHECK(retry_on_new_connection(failed(TryFailure::kReset, false, false), true, false));
  CHECK_FALSE(retry_on_new_connection(failed(TryFailure::kReset, false, true), true, false));
  // A POST the server may have received is never sent twice.
  TryResult post = failed(TryFailure::kReset);
  post.idempotent = false;
  CHECK_FALSE(retry_on_new_connection(post, true, false));
  CHECK(is_idempotent_method("PUT"));
  CHECK_FALSE(is_idempotent_method("POST"));
  CHECK_FALSE(is_idempotent_method("PATCH"));
  CHECK_FALSE(is_idempotent_method("get"));  // methods are case-sensitive
}
