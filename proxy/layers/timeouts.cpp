#include "proxy/layers/timeouts.h"

#include <algorithm>

namespace weft::proxy {

RequestTimeouts request_timeouts(const proxyconfig::Rule* rule, Clock::time_point started,
                                 std::optional<Clock::duration> default_response_wait) {
  RequestTimeouts timeouts;
  if (rule != nullptr && rule->request_timeout) {
    timeouts.deadline = started + *rule->request_timeout;
  }
  if (rule != nullptr && rule->backend_request_timeout) {
    timeouts.per_try = *rule->backend_request_timeout;
  }
  if (!timeouts.deadline && !timeouts.per_try) timeouts.response_wait = default_response_wait;
  return timeouts;
}

void cap_by_client_deadline(RequestTimeouts& timeouts, Clock::time_point started,
                            std::chrono::nanoseconds client_timeout) {
  constexpr std::chrono::nanoseconds kYear = std::chrono::hours(24 * 365);
  const auto limit =
      started + std::chrono::duration_cast<Clock::duration>(std::min(client_timeout, kYear));
  if (!timeouts.deadline || limit < *timeouts.deadline) timeouts.deadline = limit;
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
