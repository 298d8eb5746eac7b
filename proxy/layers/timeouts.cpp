#include "proxy/layers/timeouts.h"

namespace weft::proxy {

RequestTimeouts request_timeouts(const proxyconfig::Rule* rule, Clock::time_point started) {
  RequestTimeouts timeouts;
  if (rule == nullptr) return timeouts;
  if (rule->request_timeout) timeouts.deadline = started + *rule->request_timeout;
  if (rule->backend_request_timeout) timeouts.per_try = *rule->backend_request_timeout;
  return timeouts;
}

std::optional<Clock::time_point> try_expiry(const RequestTimeouts& timeouts,
                                            Clock::time_point now) {
  std::optional<Clock::time_point> expiry;
  if (timeouts.per_try) expiry = now + *timeouts.per_try;
  if (timeouts.deadline && (!expiry || *timeouts.deadline < *expiry)) expiry = timeouts.deadline;
  return expiry;
}

ConnectLimit connect_limit(Clock::duration connect_timeout, const RequestTimeouts& timeouts,
                           Clock::time_point now) {
  const Clock::time_point by_timeout = now + connect_timeout;
  if (timeouts.deadline && *timeouts.deadline < by_timeout) return {*timeouts.deadline, true};
  return {by_timeout, false};
}

}  // namespace weft::proxy
