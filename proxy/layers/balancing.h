#pragma once

// The balancing layer: which endpoint a try goes to, and what its outcome
// tells the balancer (proxy/routing/balancer.h holds the algorithms). The
// request path calls choose_endpoint before a try and report_try after it.

#include <memory>
#include <random>

#include "proxy/request/grpc.h"
#include "proxy/request/outcome.h"
#include "proxy/routing/balancer.h"

namespace weft::proxy {

// What is known of one finished try.
struct TryReport {
  TryFailure failure = TryFailure::kNone;
  int status = 0;                             // the response's, when there is one
  std::optional<grpc::Status> grpc_status{};  // in the response's head (trailers-only)
  bool client_body_unfinished = false;        // the client had not sent its whole body
  bool reused_connection = false;             // the try went out on a pooled connection
};

// What a try says about its endpoint: a response below 500 is a success
// (its time feeds the latency average), a 5xx or a failed try a failure, and
// so is a gRPC status of the server's failing in a 200's head (a trailers-only
// answer, as gRPC servers give errors; a status in later trailers comes after
// the try is reported).
// A failure the client may have caused says nothing, so that a client cannot
// steer traffic away from (or eject) a healthy endpoint: one that went away,
// a malformed body, any failure while its body was still arriving (a
// trickling body times the try out), and a reset of a pooled connection (the
// server closed it while idle; it is retried on a new one).
enum class EndpointFeedback { kNone, kSuccess, kFailure };
EndpointFeedback feedback_of(const TryReport& report);

// An endpoint for the next try, counted in flight until report_try; null
// when none is available (503). A retry passes the endpoint its previous try
// failed on as `avoid` (Balancer::pick).
std::shared_ptr<EndpointState> choose_endpoint(Balancer& balancer, std::mt19937_64& random,
                                               Clock::time_point now,
                                               const EndpointState* avoid = nullptr);

// The try on `endpoint` ran from started to ended.
void report_try(Balancer& balancer, EndpointState& endpoint, const TryReport& report,
                Clock::time_point started, Clock::time_point ended);

}  // namespace weft::proxy
