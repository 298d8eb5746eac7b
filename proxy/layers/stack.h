#pragma once

// The request path's layers in their order, for any protocol: once the
// server side of a codec has parsed a request and the admission and routing
// layers have planned it (a Plan), forward() makes its tries. For each try:
// the balancing layer picks the endpoint, the connection layer and the
// codec's client side send it (Upstream::send_try), the balancer learns the
// outcome, and the retries layer decides, within the timeouts layer's
// deadline, whether and when to try again. The server side then writes the
// last try's response, or the local answer to its failure.
//
// Upstream is the codec's client side, a template parameter rather than an
// interface: each codec gets its own copy of this loop, with direct calls and
// no virtual dispatch on the hot path. What it must provide is the concept
// below. HTTP/1's is http1::Client; HTTP/2's will sit beside it, and mTLS
// enters inside send_try (the connection layer's handshake), not here.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>

#include "proxy/core/asio.h"
#include "proxy/layers/balancing.h"
#include "proxy/layers/retries.h"
#include "proxy/layers/routing.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/grpc.h"
#include "proxy/request/outcome.h"
#include "weft/metrics.h"

namespace weft::proxy {

template <class U>
concept Upstream = requires(U upstream, const U& const_upstream, const tcp::endpoint& address,
                            std::string_view identity, const RequestTimeouts& timeouts,
                            bool replayable, bool& body_started) {
  // One try: a connection (pooled or new, within the connect limit), the
  // request written, the final response head read (within the try's limit).
  // Sets body_started once part of a streamed body has gone out.
  {
    upstream.send_try(address, identity, timeouts, replayable, body_started)
    } -> std::same_as<awaitable<TryFailure>>;
  // After a try without failure: its response's status.
  { const_upstream.response_status() } -> std::same_as<int>;
  // The last try went out on a pooled connection.
  { const_upstream.connection_reused() } -> std::same_as<bool>;
  // The client has sent its whole request body (or it had none).
  { const_upstream.request_body_done() } -> std::same_as<bool>;
  // The last try's connection is not reused (before a retry).
  { upstream.drop_connection() } -> std::same_as<void>;
  // Some byte of the last try's response arrived (it may have been processed).
  { const_upstream.response_started() } -> std::same_as<bool>;
  // After a try without failure: the grpc-status its response head carries
  // (a trailers-only gRPC response), if any.
  { const_upstream.response_grpc_status() } -> std::same_as<std::optional<grpc::Status>>;
  // The last try's connection is not reused, and the next try's is a new one.
  { upstream.next_try_on_new_connection() } -> std::same_as<void>;
  // The last try streamed the whole request body and kept a copy: the
  // request, not replayable when it began, can now be sent again.
  { const_upstream.body_replayable() } -> std::same_as<bool>;
};

// What the layers around the tries need.
struct Forwarding {
  const Plan& plan;
  const RequestTimeouts& timeouts;
  tcp::endpoint destination;  // where a request without a backend goes
  std::mt19937_64& random;
  Executor executor;          // for the backoff's timer
  Clock::time_point started;  // the request's start: the first try's
  bool replayable = false;    // the whole request can be sent again
  bool idempotent = true;     // its method is (is_idempotent_method)
};

// Counted by the caller, which labels its metrics by where the last try
// went (its endpoint's TLS identity, known only now).
struct Forwarded {
  TryResult result;                    // the last try's
  bool no_endpoint = false;            // the backend had no endpoint to try (503)
  Clock::time_point ended;             // the last try's end
  tcp::endpoint address;               // the last try's endpoint (the destination before any try)
  std::string_view identity;           // what it had to prove (into the plan's snapshot)
  std::uint32_t retries = 0;           // retries made
  std::uint32_t budget_exhausted = 0;  // retries the budget refused
};

template <Upstream U>
awaitable<Forwarded> forward(U& upstream, const Forwarding& request) {
  const Plan& plan = request.plan;
  const proxyconfig::Retry* retry = plan.retry();
  Forwarded out;
  out.address = request.destination;
  TryResult& result = out.result;
  result.replayable = request.replayable;
  result.idempotent = request.idempotent;
  std::uint32_t retries_done = 0;
  bool stale_retry_used = false;
  std::shared_ptr<EndpointState> failed_endpoint;  // the last retried try's: a retry goes elsewhere
  // Clock reads are few: the first try starts when the request does, and
  // the end of a try is when its outcome is recorded.
  Clock::time_point try_started = request.started;
  while (true) {
    if (retries_done > 0 || stale_retry_used) try_started = Clock::now();
    tcp::endpoint address = request.destination;
    std::shared_ptr<EndpointState> endpoint;
    if (plan.backend != nullptr) {
      endpoint = plan.balancer ? choose_endpoint(*plan.balancer, request.random, try_started,
                                                 failed_endpoint.get())
                               : nullptr;
      if (!endpoint) {
        out.no_endpoint = true;
        out.ended = Clock::now();
        co_return out;
      }
      address = endpoint->address;
    }
    out.address = address;
    // From the snapshot that chose the endpoint: mTLS to whatever it knew as meshed.
    out.identity = plan.snapshot ? plan.snapshot->identity_of(address) : std::string_view();
    result.failure = co_await upstream.send_try(address, out.identity, request.timeouts,
                                                result.replayable, result.body_started);
    if (!result.replayable && upstream.body_replayable()) result.replayable = true;
    result.status = result.failure == TryFailure::kNone ? upstream.response_status() : 0;
    result.response_started = upstream.response_started();
    result.grpc_status =
        result.failure == TryFailure::kNone ? upstream.response_grpc_status() : std::nullopt;
    out.ended = Clock::now();
    if (endpoint) {
      report_try(*plan.balancer, *endpoint,
                 {.failure = result.failure,
                  .status = result.status,
                  .grpc_status = result.grpc_status,
                  .client_body_unfinished = !upstream.request_body_done(),
                  .reused_connection = upstream.connection_reused()},
                 try_started, out.ended);
    }
    // The client's own doing ends the request: nobody to answer, or a 400.
    if (result.failure == TryFailure::kClientGone ||
        result.failure == TryFailure::kBadRequestBody) {
      co_return out;
    }
    if (retry_on_new_connection(result, upstream.connection_reused(), stale_retry_used)) {
      stale_retry_used = true;
      upstream.next_try_on_new_connection();  // (outside the policy and its budget)
      continue;
    }
    const RetryDecision decision = decide_retry(retry, result, retries_done, plan.budget.get(),
                                                request.random, request.timeouts, out.ended);
    if (decision.verdict == RetryVerdict::kBudgetExhausted) ++out.budget_exhausted;
    if (decision.verdict != RetryVerdict::kRetry && decision.verdict != RetryVerdict::kDeadline) {
      co_return out;
    }
    upstream.drop_connection();  // a retried response's connection is not reused
    failed_endpoint = endpoint;
    if (decision.backoff.count() > 0) {
      Timer timer(request.executor);
      timer.expires_after(decision.backoff);
      error_code ignored;
      co_await timer.async_wait(redirect(ignored));
    }
    if (decision.verdict == RetryVerdict::kDeadline) {
      result.failure = TryFailure::kTimeout;  // the deadline passed during the backoff
      result.status = 0;
      co_return out;
    }
    ++retries_done;
    ++out.retries;
  }
}

}  // namespace weft::proxy
