// The authorization layer's own parts: the client's key (written without
// allocating), the answers to a refusal, and the bound on metric series.
#include "proxy/layers/authorization.h"

#include <catch2/catch.hpp>
#include <vector>

#include "proxy/authz_metrics.h"
#include "test/unit/proxy/failing_allocation.h"

using namespace weft::proxy;

TEST_CASE("a client's key is its identity, else its address", "[authz]") {
  const auto v4 = boost::asio::ip::make_address("10.1.2.3");
  const auto v6 = boost::asio::ip::make_address("fd00::1:2");
  CHECK(ClientKey("spiffe://cluster.local/ns/a/sa/b", v4).view() ==
        "spiffe://cluster.local/ns/a/sa/b");
  CHECK(ClientKey("", v4).view() == "10.1.2.3");
  CHECK(ClientKey("", v6).view() == "fd00::1:2");
  const auto longest =
      boost::asio::ip::make_address("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
  CHECK(ClientKey("", longest).view() == longest.to_string());
}

TEST_CASE("a denial is a 403 naming its reason, a rate limit a 429 with Retry-After", "[authz]") {
  std::string body;
  AuthorizationVerdict denied;
  denied.outcome = AuthorizationVerdict::Outcome::kDenied;
  denied.decision = {.allowed = false,
                     .policy = "p",
                     .rule = "default-action",
                     .reason = "no rule of the authorization policy allows it"};
  const LocalAnswer forbidden = refusal_answer(denied, body);
  CHECK(forbidden.status == 403);
  CHECK(forbidden.reason == "forbidden: no rule of the authorization policy allows it");
  CHECK_FALSE(forbidden.close);  // the connection stays usable
  AuthorizationVerdict limited;
  limited.outcome = AuthorizationVerdict::Outcome::kRateLimited;
  limited.limit = {.allowed = false, .retry_after = std::chrono::seconds(0), .untracked = false};
  const LocalAnswer too_many = refusal_answer(limited, body);
  CHECK(too_many.status == 429);
  CHECK(too_many.retry_after_seconds == 1);  // never 0: "retry at once" would be a lie
  limited.limit.retry_after = std::chrono::seconds(7);
  CHECK(refusal_answer(limited, body).retry_after_seconds == 7);
  CHECK_FALSE(too_many.close);
}

TEST_CASE("authorization series past the cap are folded under policy=\"other\"", "[authz]") {
  weft::Registry registry;
  ProxyMetrics proxy_metrics(registry);
  AuthzMetrics metrics(proxy_metrics, 2);
  metrics.counter(AuthzCount::kHttpAllow, "a", "rule-0").inc();
  metrics.counter(AuthzCount::kHttpAllow, "a", "rule-0").inc();  // the same series
  metrics.counter(AuthzCount::kHttpDeny, "b", "default-action").inc();
  CHECK(metrics.series() == 2);
  metrics.counter(AuthzCount::kHttpDeny, "c", "rule-1").inc();
  metrics.counter(AuthzCount::kTcpRateLimited, "d").inc();
  CHECK(metrics.series() == 2);
  CHECK(proxy_metrics.inbound_http_authz_allow_total.with_labels({"a", "rule-0"}).value() == 2);
  CHECK(proxy_metrics.inbound_http_authz_deny_total.with_labels({"other", "other"}).value() == 1);
  CHECK(proxy_metrics.inbound_tcp_ratelimit_denied_total.with_labels({"other"}).value() == 1);
  CHECK(proxy_metrics.authz_metric_series_folded_total.get().value() == 2);
}

TEST_CASE("the allow path allocates nothing", "[authz]") {
  namespace pc = weft::proxyconfig;
  pc::Document document;
  document.ns = "test";
  pc::InboundPolicy policy;
  policy.name = "loopback";
  pc::AuthorizationRule rule;
  rule.cidrs = {"127.0.0.0/8"};
  policy.authorization = pc::Authorization{pc::AuthorizationAction::kDeny, {rule}};
  pc::InboundPolicy limited;
  limited.name = "limited";
  limited.rate_limit = pc::RateLimit{1000, 1000};
  document.inbound.policies = {policy, limited};
  const auto policies = authz::InboundPolicies::compile(document, {});
  authz::RateLimiter limiter(16);
  weft::Registry registry;
  ProxyMetrics proxy_metrics(registry);
  AuthzMetrics metrics(proxy_metrics, 16);
  weft::KeyedLogThrottle denial_log(std::chrono::seconds(10), 16);
  weft::Logger log("test", weft::LogLevel::kError);
  const AuthorizationTelemetry telemetry{metrics, proxy_metrics.rate_limit_untracked_total.get(),
                                         denial_log, log};
  Request request;
  request.method = "GET";
  request.path = "/x";
  const auto address = boost::asio::ip::make_address("127.0.0.1");
  const auto run = [&] {
    const ClientKey key("", address);
    const authz::Client client{"", address};
    const AuthorizationVerdict verdict =
        authorize_request(request, {*policies, 8080, client, key.view(), limiter});
    record_verdict(telemetry, verdict, true, key.view(), 8080, request.path);
    return verdict;
  };
  // The first request creates the series and the client's bucket.
  REQUIRE(run().outcome == AuthorizationVerdict::Outcome::kAllowed);
  REQUIRE(limiter.tracked() == 1);
  testing::fail_allocation(1);
  const AuthorizationVerdict verdict = run();
  const bool allocated = testing::allocation_failed();
  testing::disarm_allocation_failure();
  CHECK_FALSE(allocated);
  CHECK(verdict.outcome == AuthorizationVerdict::Outcome::kAllowed);
  CHECK(proxy_metrics.inbound_http_authz_allow_total.with_labels({"loopback", "rule-0"}).value() ==
        2);
}

TEST_CASE("the probe exemption is for plaintext clients only", "[authz]") {
  namespace pc = weft::proxyconfig;
  pc::Document document;
  document.ns = "test";
  document.inbound.default_policy = pc::DefaultInboundPolicy::kDeny;
  const auto policies = authz::InboundPolicies::compile(document, {});
  authz::RateLimiter limiter(16);
  const std::vector<weft::ProbeRoute> probes = {weft::ProbeRoute(8080, "/healthz")};
  Request request;
  request.method = "GET";
  request.path = "/healthz";
  request.probe_routes = probes;
  const auto address = boost::asio::ip::make_address("10.0.0.9");
  const authz::Client kubelet{"", address};
  CHECK(authorize_request(request, {*policies, 8080, kubelet, "10.0.0.9", limiter}).outcome ==
        AuthorizationVerdict::Outcome::kProbe);
  // A meshed client is never the kubelet: its request to the probe path is decided.
  const authz::Client meshed{"spiffe://cluster.local/ns/evil/sa/x", address};
  CHECK(authorize_request(request, {*policies, 8080, meshed, "x", limiter}).outcome ==
        AuthorizationVerdict::Outcome::kDenied);
  request.path = "/other";
  CHECK(authorize_request(request, {*policies, 8080, kubelet, "10.0.0.9", limiter}).outcome ==
        AuthorizationVerdict::Outcome::kDenied);
}
