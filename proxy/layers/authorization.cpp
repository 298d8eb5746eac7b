#include "proxy/layers/authorization.h"

#include <arpa/inet.h>

#include "proxy/layers/admission.h"

namespace weft::proxy {

ClientKey::ClientKey(std::string_view identity, const asio::ip::address& address)
    : identity_(identity) {
  if (!identity_.empty()) return;
  // inet_ntop writes into our buffer: no allocation (address::to_string would).
  const char* written = nullptr;
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    written = ::inet_ntop(AF_INET, bytes.data(), address_.data(), address_.size());
  } else {
    const auto bytes = address.to_v6().to_bytes();
    written = ::inet_ntop(AF_INET6, bytes.data(), address_.data(), address_.size());
  }
  address_size_ = written != nullptr ? std::char_traits<char>::length(address_.data()) : 0;
}

namespace {

using Outcome = AuthorizationVerdict::Outcome;

// The rate limit of the port, if any, once the decision allowed.
AuthorizationVerdict limited(AuthorizationVerdict verdict, const AuthorizationInput& input) {
  const authz::PortRateLimit* limit = input.policies.rate_limit(input.port);
  if (limit == nullptr) return verdict;
  verdict.limit = input.limiter.take(limit->policy, input.client_key, limit->limit,
                                     authz::RateLimiter::Clock::now());
  if (!verdict.limit.allowed) {
    verdict.outcome = Outcome::kRateLimited;
    verdict.limit_policy = limit->policy;
  }
  return verdict;
}

constexpr std::string_view kProbe = "probe";

}  // namespace

AuthorizationVerdict authorize_request(const Request& request, const AuthorizationInput& input) {
  AuthorizationVerdict verdict;
  // The kubelet is never meshed: a client that proved an identity gets no
  // probe exemption, so its probes are decided like any other request.
  if (input.client.identity.empty() && is_kubelet_probe(request)) {
    verdict.outcome = Outcome::kProbe;
    verdict.decision = {.allowed = true, .policy = kProbe, .rule = kProbe, .reason = {}};
    return verdict;
  }
  verdict.decision = input.policies.decide(input.port, input.client,
                                           {.method = request.method, .path = request.path});
  if (!verdict.decision.allowed) {
    verdict.outcome = Outcome::kDenied;
    return verdict;
  }
  return limited(verdict, input);
}

AuthorizationVerdict authorize_connection(const AuthorizationInput& input,
                                          authz::InboundPolicies::Opaque opaque) {
  AuthorizationVerdict verdict;
  verdict.decision = input.policies.decide_connection(input.port, input.client, opaque);
  if (!verdict.decision.allowed) {
    verdict.outcome = Outcome::kDenied;
    return verdict;
  }
  return limited(verdict, input);
}

LocalAnswer refusal_answer(const AuthorizationVerdict& verdict, std::string& body) {
  if (verdict.outcome == Outcome::kRateLimited) {
    const auto seconds = std::max<std::int64_t>(1, verdict.limit.retry_after.count());
    return {.status = 429,
            .reason = "rate limit exceeded",
            .retry_after_seconds = static_cast<std::uint32_t>(seconds)};
  }
  body = "forbidden: ";
  body += verdict.decision.reason;
  return {.status = 403, .reason = body};
}

void record_verdict(const AuthorizationTelemetry& telemetry, const AuthorizationVerdict& verdict,
                    bool http, std::string_view client_key, std::uint16_t port,
                    std::string_view path) {
  const authz::Decision& decision = verdict.decision;
  switch (verdict.outcome) {
    case Outcome::kAllowed:
    case Outcome::kProbe:
      telemetry.metrics
          .counter(http ? AuthzCount::kHttpAllow : AuthzCount::kTcpAllow, decision.policy,
                   decision.rule)
          .inc();
      return;
    case Outcome::kDenied:
      telemetry.metrics
          .counter(http ? AuthzCount::kHttpDeny : AuthzCount::kTcpDeny, decision.policy,
                   decision.rule)
          .inc();
      break;
    case Outcome::kRateLimited:
      // Allowed by its policy, then refused by the limit: counted as both.
      telemetry.metrics
          .counter(http ? AuthzCount::kHttpAllow : AuthzCount::kTcpAllow, decision.policy,
                   decision.rule)
          .inc();
      telemetry.metrics
          .counter(http ? AuthzCount::kHttpRateLimited : AuthzCount::kTcpRateLimited,
                   verdict.limit_policy)
          .inc();
      if (verdict.limit.untracked) telemetry.untracked.inc();
      break;
  }
  const auto skipped = telemetry.denial_log.admit(client_key, KeyedLogThrottle::Clock::now());
  if (!skipped) return;
  const bool rate_limited = verdict.outcome == Outcome::kRateLimited;
  telemetry.log.warn(
      rate_limited ? "inbound refused by a rate limit" : "inbound refused by authorization",
      {{"client", client_key},
       {"protocol", http ? "http" : "tcp"},
       {"port", port},
       {"path", path},
       {"policy", rate_limited ? verdict.limit_policy : decision.policy},
       {"rule", rate_limited ? std::string_view("rate-limit") : decision.rule},
       {"reason", rate_limited ? std::string_view("rate limit exceeded") : decision.reason},
       {"not_logged_since_last", *skipped}});
}

awaitable<void> maintain_rate_limiter(authz::RateLimiter& limiter, Gauge& tracked,
                                      std::chrono::steady_clock::duration interval) {
  Timer timer(co_await asio::this_coro::executor);
  while (true) {
    timer.expires_after(interval);
    error_code ec;
    co_await timer.async_wait(redirect(ec));
    if (ec) co_return;
    limiter.forget_idle(authz::RateLimiter::Clock::now());
    tracked.set(static_cast<double>(limiter.tracked()));
  }
}

}  // namespace weft::proxy
