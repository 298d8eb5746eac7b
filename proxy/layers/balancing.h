#pragma once

// The balancing layer: which endpoint a try goes to, and what its outcome
// tells the balancer (proxy/routing/balancer.h holds the algorithms). The
// request path calls choose_endpoint before a try and report_try after it.

#include <memory>
#include <random>

#include "proxy/request/outcome.h"
#include "proxy/routing/balancer.h"

namespace weft::proxy {

// What a try says about its endpoint: a response below 500 is a success
// (its time feeds the latency average), a 5xx or a failed try a failure; a
// client that went away says nothing about the endpoint.
enum class EndpointFeedback { kNone, kSuccess, kFailure };
EndpointFeedback feedback_of(TryFailure failure, int status);

// An endpoint for the next try, counted in flight until report_try; null
// when none is available (503).
std::shared_ptr<EndpointState> choose_endpoint(Balancer& balancer, std::mt19937_64& random,
                                               Clock::time_point now);

// The try on `endpoint` ran from started to ended.
void report_try(Balancer& balancer, EndpointState& endpoint, TryFailure failure, int status,
                Clock::time_point started, Clock::time_point ended);

}  // namespace weft::proxy
