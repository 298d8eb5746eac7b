#include "proxy/layers/balancing.h"

namespace weft::proxy {

EndpointFeedback feedback_of(const TryReport& report) {
  switch (report.failure) {
    case TryFailure::kNone:
      if (report.status >= 500) return EndpointFeedback::kFailure;
      if (report.grpc_status && grpc::is_server_failure(*report.grpc_status)) {
        return EndpointFeedback::kFailure;
      }
      return EndpointFeedback::kSuccess;
    case TryFailure::kClientGone:
    case TryFailure::kBadRequestBody:
      return EndpointFeedback::kNone;
    case TryFailure::kReset:
      if (report.reused_connection) return EndpointFeedback::kNone;
      break;
    case TryFailure::kConnect:
    case TryFailure::kTimeout:
    case TryFailure::kBadResponse:
      break;
  }
  return report.client_body_unfinished ? EndpointFeedback::kNone : EndpointFeedback::kFailure;
}

std::shared_ptr<EndpointState> choose_endpoint(Balancer& balancer, std::mt19937_64& random,
                                               Clock::time_point now, const EndpointState* avoid) {
  std::shared_ptr<EndpointState> endpoint = balancer.pick(random, now, avoid);
  if (endpoint) ++endpoint->in_flight;
  return endpoint;
}

void report_try(Balancer& balancer, EndpointState& endpoint, const TryReport& report,
                Clock::time_point started, Clock::time_point ended) {
  --endpoint.in_flight;
  switch (feedback_of(report)) {
    case EndpointFeedback::kNone:
      break;
    case EndpointFeedback::kSuccess:
      // Every try, on a new connection too (its connect and handshake
      // included): a try left out would let an endpoint that closes every
      // connection go unmeasured, its average decaying to nothing.
      balancer.on_success(
          endpoint, std::chrono::duration<double, std::milli>(ended - started).count(), ended);
      break;
    case EndpointFeedback::kFailure:
      balancer.on_failure(endpoint, ended);
      break;
  }
}

}  // namespace weft::proxy
