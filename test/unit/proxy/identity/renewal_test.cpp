// decide_renewal: when the identity client asks for a certificate, with times
// as arguments (lifetimes of seconds) and a fake chain verifier.

#include "proxy/identity/renewal.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
using namespace std::chrono_literals;
using Action = RenewalDecision::Action;
using weft::identity::TimePoint;
using weft::identity::WorkloadIdentity;

namespace {

const TimePoint kStart = TimePoint() + std::chrono::hours(24 * 365 * 50);
const WorkloadIdentity kSelf{"cluster.local", "shop", "web"};

// Trusts a chain when the anchors contain the chain's "issuer" text.
weft::Result<WorkloadIdentity> fake_verify(std::string_view chain, std::string_view anchors,
                                           std::string_view trust_domain, TimePoint) {
  if (trust_domain != kSelf.trust_domain) return weft::Error{"wrong trust domain"};
  if (anchors.find(chain) == std::string_view::npos) return weft::Error{"unknown authority"};
  return kSelf;
}

// A leaf valid for 10 s from kStart, signed under "root-a".
Credentials held(std::string anchors = "root-a") {
  Credentials credentials;
  credentials.self = kSelf;
  credentials.chain_pem = "root-a";
  credentials.key_pem = "key";
  credentials.anchors_pem = std::move(anchors);
  credentials.not_after = kStart + 10s;
  return credentials;
}

RenewalInput input(const Credentials* current, TimePoint now, std::string_view anchors = "root-a") {
  RenewalInput in;
  in.current = current;
  in.leaf_valid_from = kStart;
  in.trust_domain = "cluster.local";
  in.anchors_pem = anchors;
  in.now = now;
  return in;
}

RenewalDecision decide(const RenewalInput& in, RenewalPolicy policy = {}) {
  return decide_renewal(in, policy, fake_verify);
}

}  // namespace

TEST_CASE("without a certificate the client asks at once", "[identity][renewal]") {
  const auto decision = decide(input(nullptr, kStart));
  CHECK(decision.action == Action::kRequest);
  CHECK_THAT(decision.reason, Catch::Contains("no certificate"));
}

TEST_CASE("a held certificate is renewed at 70 % of its life", "[identity][renewal]") {
  const Credentials current = held();
  const auto early = decide(input(&current, kStart + 1s));
  CHECK(early.action == Action::kWait);
  CHECK(early.at == kStart + 7s);
  CHECK(decide(input(&current, kStart + 6999ms)).action == Action::kWait);
  CHECK(decide(input(&current, kStart + 7s)).action == Action::kRequest);
  const auto expired = decide(input(&current, kStart + 11s));
  CHECK(expired.action == Action::kRequest);
  CHECK_THAT(expired.reason, Catch::Contains("expired"));
}

TEST_CASE("the renewal share is the policy's (--identity-renew-fraction)", "[identity][renewal]") {
  const Credentials current = held();
  RenewalPolicy policy;
  policy.renew_fraction = 0.5;
  const auto decision = decide(input(&current, kStart + 1s), policy);
  CHECK(decision.action == Action::kWait);
  CHECK(decision.at == kStart + 5s);
  CHECK(renewal_time(kStart, kStart + 24h, 0.7) == kStart + 16h + 48min);
}

TEST_CASE("after a failure the next request waits for the backoff", "[identity][renewal]") {
  RenewalPolicy policy;
  policy.backoff = {.initial = 800ms, .max = 30s, .factor = 2.0, .jitter = 0.5};
  auto in = input(nullptr, kStart + 100ms);
  in.failures = {.count = 1, .last = kStart, .jitter_draw = 0.0};
  auto decision = decide(in, policy);
  CHECK(decision.action == Action::kWait);
  CHECK(decision.at == kStart + 800ms);
  CHECK_THAT(decision.reason, Catch::Contains("retrying"));
  in.now = kStart + 800ms;
  CHECK(decide(in, policy).action == Action::kRequest);
  // The third failure in a row: 3.2 s, and never past the cap.
  in.failures.count = 3;
  in.now = kStart + 1s;
  CHECK(decide(in, policy).at == kStart + 3200ms);
  in.failures.count = 30;
  CHECK(decide(in, policy).at == kStart + 30s);
}

TEST_CASE("a failed renewal retries on the backoff, not at every wake-up", "[identity][renewal]") {
  const Credentials current = held();
  auto in = input(&current, kStart + 7500ms);
  in.failures = {.count = 2, .last = kStart + 7100ms, .jitter_draw = 0.0};
  const auto decision = decide(in);
  CHECK(decision.action == Action::kWait);
  CHECK(decision.at == kStart + 7100ms + 1600ms);
}

TEST_CASE("new anchors that still trust the leaf are taken at once, without a request",
          "[identity][renewal]") {
  const Credentials current = held();
  // A rotation's first step: the bundle holds the old anchor and the new one.
  const auto decision = decide(input(&current, kStart + 1s, "root-a\nroot-b"));
  CHECK(decision.action == Action::kUpdateAnchors);
}

TEST_CASE("new anchors that no longer trust the leaf make the client ask at once",
          "[identity][renewal]") {
  const Credentials current = held("root-a\nroot-b");
  const auto decision = decide(input(&current, kStart + 1s, "root-b"));
  CHECK(decision.action == Action::kRequest);
  CHECK_THAT(decision.reason, Catch::Contains("unknown authority"));
  // Also while failing: on the backoff.
  auto in = input(&current, kStart + 1s, "root-b");
  in.failures = {.count = 1, .last = kStart + 900ms, .jitter_draw = 0.0};
  CHECK(decide(in).action == Action::kWait);
}

TEST_CASE("a changed trust domain makes the client ask again", "[identity][renewal]") {
  const Credentials current = held();
  auto in = input(&current, kStart + 1s);
  in.trust_domain = "example.org";
  const auto decision = decide(in);
  CHECK(decision.action == Action::kRequest);
  CHECK_THAT(decision.reason, Catch::Contains("wrong trust domain"));
}
