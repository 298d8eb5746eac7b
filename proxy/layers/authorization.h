#pragma once

// The authorization layer: after admission, before routing, an inbound
// request is allowed or refused by the pod's MeshPolicies
// (authz::InboundPolicies, compiled once per configuration), then, when its
// port has a rate limit, takes a token from the client's bucket. An opaque
// TCP connection is decided the same way, once, before its upstream is
// opened. The kubelet's probes of the pod are always admitted.
//
// The decisions are pure over their arguments (the rate limiter's buckets
// aside); counting and logging them is record_denial()/the caller's. The
// allow path allocates nothing: the client's rate-limit key is written into
// a buffer of its own.

#include <array>
#include <string>
#include <string_view>

#include "proxy/authz/inbound_policy.h"
#include "proxy/authz/rate_limiter.h"
#include "proxy/authz_metrics.h"
#include "proxy/request/outcome.h"
#include "proxy/request/request.h"
#include "weft/log.h"
#include "weft/log_throttle.h"

namespace weft::proxy {

// Who a client is for its rate-limit bucket and the denial log: its mTLS
// identity, else its address (text kept here, not allocated).
class ClientKey {
 public:
  ClientKey(std::string_view identity, const asio::ip::address& address);
  std::string_view view() const { return identity_.empty() ? address_view() : identity_; }

 private:
  std::string_view address_view() const { return {address_.data(), address_size_}; }
  std::string_view identity_;
  std::array<char, 48> address_{};  // INET6_ADDRSTRLEN
  std::size_t address_size_ = 0;
};

struct AuthorizationInput {
  const authz::InboundPolicies& policies;
  std::uint16_t port;  // the destination (pod) port
  const authz::Client& client;
  std::string_view client_key;  // ClientKey::view()
  authz::RateLimiter& limiter;
};

struct AuthorizationVerdict {
  enum class Outcome { kAllowed, kProbe, kDenied, kRateLimited };
  Outcome outcome = Outcome::kAllowed;
  authz::Decision decision;       // the policy and rule that allowed or denied
  std::string_view limit_policy;  // kRateLimited: the rate limit's policy
  authz::RateLimiter::Verdict limit;
  bool refused() const { return outcome == Outcome::kDenied || outcome == Outcome::kRateLimited; }
};

// A request (its path already normalised, as routing sees it).
AuthorizationVerdict authorize_request(const Request& request, const AuthorizationInput& input);
// An opaque connection: decide_connection, and a token per connection.
AuthorizationVerdict authorize_connection(const AuthorizationInput& input,
                                          authz::InboundPolicies::Opaque opaque);

// The local answer of a refused request: 403 `forbidden: <reason>`, or 429
// with Retry-After; `body` receives the 403's text (the answer views it).
// The connection stays usable.
LocalAnswer refusal_answer(const AuthorizationVerdict& verdict, std::string& body);

// Counts a verdict (allow/deny by policy and rule, rate-limit refusals by
// policy, untracked clients) and logs a refusal, at most once per client and
// interval (with the refusals not logged meanwhile).
struct AuthorizationTelemetry {
  AuthzMetrics& metrics;
  Counter& untracked;
  KeyedLogThrottle& denial_log;
  Logger& log;
};
void record_verdict(const AuthorizationTelemetry& telemetry, const AuthorizationVerdict& verdict,
                    bool http, std::string_view client_key, std::uint16_t port,
                    std::string_view path = {});

// Drops idle buckets every `interval` and keeps rate_limit_tracked_clients
// current; runs for the io_context's life.
awaitable<void> maintain_rate_limiter(authz::RateLimiter& limiter, Gauge& tracked,
                                      std::chrono::steady_clock::duration interval);

}  // namespace weft::proxy
