#include "identity/trust_plan.h"

#include <catch2/catch.hpp>

using namespace std::chrono;
using namespace weft::identity;

namespace {

const Clock::time_point kNow = Clock::time_point{} + hours(24 * 365 * 50);

AnchorFacts weft_anchor() {
  AnchorFacts anchor;
  anchor.managed = true;
  anchor.cert_pem = "ANCHOR";
  anchor.key_pem = "ANCHOR KEY";
  anchor.not_before = kNow - hours(24);
  anchor.not_after = kNow + hours(24 * 3650);
  return anchor;
}

// An issuer valid from `age` ago for 30 days.
IssuerFacts issuer(bool managed, hours age = hours(1)) {
  IssuerFacts facts;
  facts.managed = managed;
  facts.chain_pem = "ISSUER";
  facts.key_pem = "ISSUER KEY";
  facts.ca_certs = {"ANCHOR"};
  facts.not_before = kNow - age;
  facts.not_after = facts.not_before + hours(720);
  return facts;
}

BundleFacts bundle(bool managed, std::vector<std::string> anchors = {"ANCHOR"}) {
  BundleFacts facts;
  facts.managed = managed;
  facts.anchors = std::move(anchors);
  return facts;
}

TrustPlan plan(const TrustFacts& facts) {
  return plan_trust(facts, TrustPolicy{}, kNow);
}

}  // namespace

TEST_CASE("first install: anchor, then issuer, then bundle, then issuing", "[identity][trust]") {
  TrustFacts facts;
  auto step = plan(facts);
  CHECK(step.step == TrustStep::kCreateAnchor);
  CHECK_FALSE(step.can_issue);
  CHECK(refusal_resolved_by_step(step));

  facts.anchor = weft_anchor();
  step = plan(facts);
  CHECK(step.step == TrustStep::kCreateIssuer);
  CHECK_FALSE(step.can_issue);
  CHECK(refusal_resolved_by_step(step));

  facts.issuer = issuer(true);
  step = plan(facts);
  CHECK(step.step == TrustStep::kCreateBundle);
  CHECK(step.bundle == std::vector<std::string>{"ANCHOR"});
  CHECK_FALSE(step.can_issue);
  CHECK(refusal_resolved_by_step(step));

  facts.bundle = bundle(true);
  step = plan(facts);
  CHECK(step.step == TrustStep::kNone);
  CHECK(step.can_issue);
  CHECK(step.refusal.empty());
  CHECK_FALSE(refusal_resolved_by_step(step));
}

TEST_CASE("a user's issuer without anchor Secret is used as is", "[identity][trust]") {
  TrustFacts facts;
  facts.issuer = issuer(false);
  facts.bundle = bundle(false);
  const auto step = plan(facts);
  CHECK(step.step == TrustStep::kNone);
  CHECK(step.can_issue);
}

TEST_CASE("a user's issuer and no bundle: the bundle is made from its ca.crt",
          "[identity][trust]") {
  TrustFacts facts;
  facts.issuer = issuer(false);
  facts.issuer->ca_certs = {"USER ROOT"};
  const auto step = plan(facts);
  CHECK(step.step == TrustStep::kCreateBundle);
  CHECK(step.bundle == std::vector<std::string>{"USER ROOT"});
}

TEST_CASE("a user's issuer without ca.crt and no bundle: refused", "[identity][trust]") {
  TrustFacts facts;
  facts.issuer = issuer(false);
  facts.issuer->ca_certs.clear();
  const auto step = plan(facts);
  CHECK(step.step == TrustStep::kNone);
  CHECK_FALSE(step.can_issue);
  CHECK_THAT(step.refusal, Catch::Contains("ca.crt"));
}

TEST_CASE("anything unusable refuses and changes nothing", "[identity][trust]") {
  TrustFacts facts;
  facts.anchor = weft_anchor();
  facts.issuer = issuer(true);
  facts.bundle = bundle(true);
  SECTION("corrupted issuer") {
    facts.issuer->problem = "tls.key is not a private key";
    const auto step = plan(facts);
    CHECK(step.refusal_kind == "issuer_unusable");
    CHECK_THAT(step.refusal, Catch::Contains("weft-identity-issuer") &&
                                 Catch::Contains("tls.key is not a private key"));
  }
  SECTION("corrupted anchor") {
    facts.anchor->problem = "tls.crt is not a certificate";
    CHECK(plan(facts).refusal_kind == "anchor_unusable");
  }
  SECTION("corrupted bundle") {
    facts.bundle->problem = "ca-bundle.crt holds no certificate";
    CHECK(plan(facts).refusal_kind == "bundle_unusable");
  }
  SECTION("a corrupted issuer with no anchor Secret") {
    facts.anchor.reset();
    facts.issuer->problem = "the key does not match the certificate";
    CHECK(plan(facts).refusal_kind == "issuer_unusable");
  }
  const auto step = plan(facts);
  CHECK(step.step == TrustStep::kNone);
  CHECK_FALSE(step.can_issue);
  // Someone must act: an error, not the info line of a first install.
  CHECK_FALSE(refusal_resolved_by_step(step));
}

TEST_CASE("an issuer that chains to no anchor of a user's bundle is refused", "[identity][trust]") {
  TrustFacts facts;
  facts.issuer = issuer(false);
  facts.issuer->bundle_problem = "unknown authority";
  facts.bundle = bundle(false, {"OTHER ROOT"});
  const auto step = plan(facts);
  CHECK(step.step == TrustStep::kNone);
  CHECK_FALSE(step.can_issue);
  CHECK(step.refusal_kind == "issuer_untrusted");
  CHECK_THAT(step.refusal, Catch::Contains("unknown authority") && Catch::Contains("user's"));
}

TEST_CASE("Weft's bundle lacking the issuer's anchor gets it added, keeping the others",
          "[identity][trust]") {
  TrustFacts facts;
  facts.anchor = weft_anchor();
  facts.issuer = issuer(true);
  facts.issuer->bundle_problem = "unknown authority";
  facts.bundle = bundle(true, {"OLD ROOT"});
  const auto step = plan(facts);
  CHECK(step.step == TrustStep::kUpdateBundle);
  CHECK(step.bundle == std::vector<std::string>{"OLD ROOT", "ANCHOR"});
  CHECK_FALSE(step.can_issue);
}

TEST_CASE("an issuer whose own ca.crt does not verify it is not added to a bundle",
          "[identity][trust]") {
  TrustFacts facts;
  facts.issuer = issuer(true);
  facts.issuer->bundle_problem = "unknown authority";
  facts.issuer->own_ca_problem = "unknown authority";
  facts.bundle = bundle(true, {"OLD ROOT"});
  const auto step = plan(facts);
  CHECK(step.step == TrustStep::kNone);
  CHECK(step.refusal_kind == "issuer_untrusted");
}

TEST_CASE("renewal of Weft's issuer", "[identity][trust]") {
  TrustFacts facts;
  facts.anchor = weft_anchor();
  facts.bundle = bundle(true);
  SECTION("young: kept") {
    facts.issuer = issuer(true, hours(24));
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kNone);
    CHECK(step.can_issue);
  }
  SECTION("less than a third of its life left: renewed, still issuing meanwhile") {
    facts.issuer = issuer(true, hours(500));
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kRenewIssuer);
    CHECK(step.can_issue);
  }
  SECTION("the fraction is configurable") {
    facts.issuer = issuer(true, hours(500));
    CHECK(plan_trust(facts, TrustPolicy{0.2}, kNow).step == TrustStep::kNone);
    facts.issuer = issuer(true, hours(100));
    CHECK(plan(facts).step == TrustStep::kNone);
    CHECK(plan_trust(facts, TrustPolicy{0.9}, kNow).step == TrustStep::kRenewIssuer);
  }
  SECTION("expired: renewed, not issuing") {
    facts.issuer = issuer(true, hours(800));
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kRenewIssuer);
    CHECK_FALSE(step.can_issue);
    CHECK(step.refusal_kind == "issuer_expired");
  }
  SECTION("Weft does not hold the anchor's key: a warning, no renewal") {
    facts.anchor->key_pem.clear();
    facts.issuer = issuer(true, hours(500));
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kNone);
    CHECK(step.can_issue);
    CHECK_THAT(step.warning, Catch::Contains("rotate the anchor"));
  }
  SECTION("the anchor ends before a new issuer would outlive the old") {
    facts.issuer = issuer(true, hours(500));
    facts.anchor->not_after = facts.issuer->not_after;
    CHECK(plan(facts).step == TrustStep::kNone);
  }
}

TEST_CASE("a user's issuer is never renewed by Weft", "[identity][trust]") {
  TrustFacts facts;
  facts.anchor = weft_anchor();
  facts.bundle = bundle(true);
  SECTION("old") {
    facts.issuer = issuer(false, hours(700));
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kNone);
    CHECK(step.can_issue);
    CHECK_THAT(step.warning, Catch::Contains("not Weft's"));
  }
  SECTION("expired") {
    facts.issuer = issuer(false, hours(800));
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kNone);
    CHECK_FALSE(step.can_issue);
    CHECK(step.refusal_kind == "issuer_expired");
  }
}

TEST_CASE("an issuer not valid yet is refused", "[identity][trust]") {
  TrustFacts facts;
  facts.issuer = issuer(false, hours(-2));
  facts.bundle = bundle(false);
  const auto step = plan(facts);
  CHECK_FALSE(step.can_issue);
  CHECK(step.refusal_kind == "issuer_not_yet_valid");
}

TEST_CASE("no issuer Secret", "[identity][trust]") {
  TrustFacts facts;
  SECTION("a user's bundle and nothing else: refused, nothing made") {
    facts.bundle = bundle(false, {"USER ROOT"});
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kNone);
    CHECK_THAT(step.refusal, Catch::Contains("not Weft's"));
  }
  SECTION("Weft's bundle left from before: the chain is made again") {
    facts.bundle = bundle(true, {"OLD ROOT"});
    CHECK(plan(facts).step == TrustStep::kCreateAnchor);
  }
  SECTION("an anchor without key: refused") {
    facts.anchor = weft_anchor();
    facts.anchor->key_pem.clear();
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kNone);
    CHECK_THAT(step.refusal, Catch::Contains("holds no key"));
  }
  SECTION("an expired anchor: refused") {
    facts.anchor = weft_anchor();
    facts.anchor->not_after = kNow - hours(1);
    const auto step = plan(facts);
    CHECK(step.step == TrustStep::kNone);
    CHECK(step.refusal_kind == "anchor_expired");
  }
}

TEST_CASE("the minute an issuer is backdated does not count as life spent", "[identity][trust]") {
  // make_issuer backdates notBefore a minute (clock skew): a 20 s issuer
  // would otherwise look 3/4 spent at birth and be renewed at every pass.
  TrustFacts facts;
  facts.anchor = weft_anchor();
  facts.bundle = bundle(true);
  facts.issuer = issuer(true);
  facts.issuer->not_before = kNow - minutes(1);
  facts.issuer->not_after = kNow + seconds(20);
  TrustPolicy policy{0.5, seconds(20)};
  CHECK(plan_trust(facts, policy, kNow).step == TrustStep::kNone);
  CHECK(plan_trust(facts, policy, kNow + seconds(9)).step == TrustStep::kNone);
  CHECK(plan_trust(facts, policy, kNow + seconds(11)).step == TrustStep::kRenewIssuer);
}
