#include "proxy/layers/balancing.h"

namespace weft::proxy {

EndpointFeedback feedback_of(TryFailure failure, int status) {
  if (failure == TryFailure::kClientGone) return EndpointFeedback::kNone;
  if (failure != TryFailure::kNone || status >= 500) return EndpointFeedback::kFailure;
  return EndpointFeedback::kSuccess;
}

std::shared_ptr<EndpointState> choose_endpoint(Balancer& balancer, std::mt19937_64& random,
                                               Clock::time_point now) {
  std::shared_ptr<EndpointState> endpoint = balancer.pick(random, now);
  if (endpoint) ++endpoint->in_flight;
  return endpoint;
}

void report_try(Balancer& balancer, EndpointState& endpoint, TryFailure failure, int status,
                Clock::time_point started, Clock::time_point ended) {
  --endpoint.in_flight;
  switch (feedback_of(failure, status)) {
    case EndpointFeedback::kNone:
      break;
    case EndpointFeedback::kSuccess:
      balancer.on_success(
          endpoint, std::chrono::duration<double, std::milli>(ended - started).count(), ended);
      break;
    case EndpointFeedback::kFailure:
      balancer.on_failure(endpoint, ended);
      break;
  }
}

}  // namespace weft::proxy
