#pragma once

// The timeouts layer: a route's `timeouts.request` is a deadline for the
// whole exchange (every try, the backoff between them and each connect), and
// `timeouts.backendRequest` limits each try. Without either (no route, as
// inbound, or a route that sets none), the proxy's default response timeout
// limits each try's wait for a response head once the request is sent, so a
// backend that never answers cannot hold a connection forever. Pure functions
// of the rule and the time; the codec arms a Deadline with what they return.

#include <chrono>
#include <optional>

#include "weft/proxyconfig/document.h"

namespace weft::proxy {

using Clock = std::chrono::steady_clock;

struct RequestTimeouts {
  std::optional<Clock::time_point> deadline;  // timeouts.request from the start
  std::optional<Clock::duration> per_try;     // timeouts.backendRequest
  // Without both: the wait for the response head, from the request's end.
  std::optional<Clock::duration> response_wait;
};

// Null rule (no route): only the default response wait, if given.
RequestTimeouts request_timeouts(const proxyconfig::Rule* rule, Clock::time_point started,
                                 std::optional<Clock::duration> default_response_wait = {});

// A client's own deadline (gRPC's grpc-timeout, a time from the request's
// start) caps the route's: the earlier of the two ends the exchange. A
// duration past a year is taken as a year (no overflow of the clock).
void cap_by_client_deadline(RequestTimeouts& timeouts, Clock::time_point started,
                            std::chrono::nanoseconds client_timeout);

inline bool deadline_passed(const RequestTimeouts& timeouts, Clock::time_point now) {
  return timeouts.deadline && now >= *timeouts.deadline;
}

// When the response head of a try must have come, the try's connection
// being ready at `now`: the per-try limit cut at the request's deadline.
// `now` is read only when there is a per-try limit (no clock read otherwise).
std::optional<Clock::time_point> try_expiry(const RequestTimeouts& timeouts, Clock::time_point now);
inline bool try_expiry_needs_now(const RequestTimeouts& timeouts) {
  return timeouts.per_try.has_value();
}

// The connect phase: the connect timeout, cut at the request's deadline.
// by_deadline says which of the two bounds it: a connect stopped by the
// deadline is a timeout (504), one stopped by the connect timeout a
// connect failure (502, retried as ConnectFailure).
struct ConnectLimit {
  Clock::time_point expiry;
  bool by_deadline = false;
};
ConnectLimit connect_limit(Clock::duration connect_timeout, const RequestTimeouts& timeouts,
                           Clock::time_point now);

}  // namespace weft::proxy
