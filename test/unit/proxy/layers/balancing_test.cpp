#include "proxy/layers/balancing.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;
using namespace std::chrono_literals;

namespace {
const Clock::time_point kNow = Clock::time_point() + 1000h;

Balancer one_endpoint(std::optional<proxyconfig::CircuitBreaker> breaker = std::nullopt) {
  return Balancer(
      proxyconfig::LoadBalancerAlgorithm::kRoundRobin, breaker,
      {std::make_shared<EndpointState>(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 8080))});
}
}  // namespace

TEST_CASE("what a try tells the balancer about its endpoint", "[balancing]") {
  CHECK(feedback_of({.failure = TryFailure::kNone, .status = 200}) == EndpointFeedback::kSuccess);
  CHECK(feedback_of({.failure = TryFailure::kNone, .status = 404}) == EndpointFeedback::kSuccess);
  CHECK(feedback_of({.failure = TryFailure::kNone, .status = 503}) == EndpointFeedback::kFailure);
  CHECK(feedback_of({.failure = TryFailure::kConnect, .status = 0}) == EndpointFeedback::kFailure);
  CHECK(feedback_of({.failure = TryFailure::kReset, .status = 0}) == EndpointFeedback::kFailure);
  CHECK(feedback_of({.failure = TryFailure::kTimeout, .status = 0}) == EndpointFeedback::kFailure);
  CHECK(feedback_of({.failure = TryFailure::kBadResponse, .status = 0}) ==
        EndpointFeedback::kFailure);
  CHECK(feedback_of({.failure = TryFailure::kClientGone, .status = 0}) == EndpointFeedback::kNone);
}

TEST_CASE("a gRPC failure of the server in a 200 is a failure of its endpoint", "[balancing]") {
  using weft::proxy::grpc::Status;
  const auto with = [](Status status) {
    return feedback_of({.failure = TryFailure::kNone, .status = 200, .grpc_status = status});
  };
  for (const Status failed : {Status::kUnavailable, Status::kDataLoss}) {
    CHECK(with(failed) == EndpointFeedback::kFailure);
  }
  // OK, and what a client causes at will, never eject an endpoint: a message
  // the server cannot decode (INTERNAL), a handler's plain error (UNKNOWN),
  // a peer proxy's 400 or 431 (INTERNAL, UNKNOWN), its own deadline, a
  // method that does not exist, bad arguments.
  for (const Status client_made :
       {Status::kOk, Status::kUnknown, Status::kInternal, Status::kCancelled,
        Status::kInvalidArgument, Status::kDeadlineExceeded, Status::kNotFound,
        Status::kAlreadyExists, Status::kPermissionDenied, Status::kResourceExhausted,
        Status::kFailedPrecondition, Status::kAborted, Status::kOutOfRange, Status::kUnimplemented,
        Status::kUnauthenticated}) {
    CHECK(with(client_made) == EndpointFeedback::kSuccess);
  }
  // A status after a failed try is not read; a 5xx fails with any status.
  CHECK(feedback_of({.failure = TryFailure::kClientGone, .grpc_status = Status::kUnavailable}) ==
        EndpointFeedback::kNone);
  CHECK(feedback_of({.failure = TryFailure::kNone, .status = 503, .grpc_status = Status::kOk}) ==
        EndpointFeedback::kFailure);
}

TEST_CASE("gRPC failures in 200s eject an endpoint as 5xx do", "[balancing]") {
  proxyconfig::CircuitBreaker breaker;
  breaker.consecutive_failures = 3;
  breaker.ejection_time = std::chrono::seconds(10);
  breaker.max_ejection_time = std::chrono::seconds(10);
  Balancer balancer = one_endpoint(breaker);
  std::mt19937_64 random(1);
  for (int i = 0; i < 3; ++i) {
    const auto endpoint = choose_endpoint(balancer, random, kNow);
    REQUIRE(endpoint);
    report_try(balancer, *endpoint,
               {.failure = TryFailure::kNone,
                .status = 200,
                .grpc_status = weft::proxy::grpc::Status::kUnavailable},
               kNow, kNow + 1ms);
  }
  CHECK(choose_endpoint(balancer, random, kNow + 2ms) == nullptr);
}

TEST_CASE("a failure the client may have caused says nothing about the endpoint", "[balancing]") {
  // A malformed or trickled body, or a pooled connection the server had
  // closed: counting these would let a client steer traffic or eject a
  // healthy endpoint.
  CHECK(feedback_of({.failure = TryFailure::kBadRequestBody}) == EndpointFeedback::kNone);
  CHECK(feedback_of({.failure = TryFailure::kTimeout, .client_body_unfinished = true}) ==
        EndpointFeedback::kNone);
  CHECK(feedback_of({.failure = TryFailure::kReset, .client_body_unfinished = true}) ==
        EndpointFeedback::kNone);
  CHECK(feedback_of({.failure = TryFailure::kReset, .reused_connection = true}) ==
        EndpointFeedback::kNone);
  // The endpoint's own doing still counts, body or not.
  CHECK(feedback_of({.failure = TryFailure::kReset}) == EndpointFeedback::kFailure);
  CHECK(
      feedback_of({.failure = TryFailure::kNone, .status = 502, .client_body_unfinished = true}) ==
      EndpointFeedback::kFailure);
  CHECK(feedback_of({.failure = TryFailure::kTimeout}) == EndpointFeedback::kFailure);
}

TEST_CASE("a chosen endpoint is in flight until its try is reported", "[balancing]") {
  Balancer balancer = one_endpoint();
  std::mt19937_64 random(1);
  const auto endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  CHECK(endpoint->in_flight == 1);
  report_try(balancer, *endpoint, {.failure = TryFailure::kNone, .status = 200}, kNow, kNow + 80ms);
  CHECK(endpoint->in_flight == 0);
}

TEST_CASE("failures reported count towards ejection; a departed client does not", "[balancing]") {
  Balancer balancer = one_endpoint(proxyconfig::CircuitBreaker{
      .consecutive_failures = 2, .ejection_time = 10s, .max_ejection_time = 10s});
  std::mt19937_64 random(1);
  auto endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  report_try(balancer, *endpoint, {.failure = TryFailure::kClientGone, .status = 0}, kNow, kNow);
  endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  report_try(balancer, *endpoint, {.failure = TryFailure::kNone, .status = 503}, kNow, kNow);
  endpoint = choose_endpoint(balancer, random, kNow);
  REQUIRE(endpoint);
  report_try(balancer, *endpoint, {.failure = TryFailure::kConnect, .status = 0}, kNow, kNow);
  CHECK_FALSE(choose_endpoint(balancer, random, kNow));  // ejected
}
