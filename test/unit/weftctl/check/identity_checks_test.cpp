#include <catch2/catch.hpp>

#include "check_fixtures.h"
#include "weftctl/check/checks.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {
const std::string kAnchor = "trust anchor";
const std::string kIssuerValid = "the issuer is valid";
const std::string kSigned = "the issuer is signed by a trust anchor";
const Thresholds kDefaults{};
}  // namespace

TEST_CASE("identity: a fresh anchor and issuer pass") {
  const auto results = check_identity(healthy_facts(), kDefaults);
  CHECK(healthy(results));
  for (const auto& result : results) {
    INFO(result.name << ": " << result.detail);
    CHECK(result.status == Status::kOk);
  }
  CHECK_THAT(find_result(results, kAnchor).name, Catch::EndsWith("is valid for at least 60 days"));
}

TEST_CASE("identity: an anchor with less than 60 days warns, expired fails") {
  Facts facts = healthy_facts();
  facts.now += Days(310);  // 55 days left
  CHECK(find_result(check_identity(facts, kDefaults), kAnchor).status == Status::kWarn);
  facts.now = certificates().made + Days(300);  // 65 days left
  CHECK(find_result(check_identity(facts, kDefaults), kAnchor).status == Status::kOk);
  facts.now = certificates().made + Days(366);
  const auto expired = find_result(check_identity(facts, kDefaults), kAnchor);
  CHECK(expired.status == Status::kFail);
  CHECK_THAT(expired.detail, Catch::StartsWith("expired at"));
}

TEST_CASE("identity: the threshold is a flag") {
  Facts facts = healthy_facts();
  facts.now += Days(300);  // 65 days left on the anchor
  CHECK(find_result(check_identity(facts, Thresholds{Days(70)}), kAnchor).status == Status::kWarn);
}

TEST_CASE("identity: an issuer Weft renews warns only once its renewal is overdue") {
  Facts facts = healthy_facts();  // a 30-day issuer: renewed with a third (~9.9 days) left
  facts.now += Days(15);
  auto result = find_result(check_identity(facts, kDefaults), kIssuerValid);
  CHECK(result.status == Status::kOk);
  CHECK_THAT(result.name, Catch::EndsWith("at least 9 days"));
  facts.now = certificates().made + Days(25);
  result = find_result(check_identity(facts, kDefaults), kIssuerValid);
  CHECK(result.status == Status::kWarn);
  CHECK_THAT(result.hint, Catch::Contains("33% of its life left"));
  facts.now = certificates().made + Days(31);
  CHECK(find_result(check_identity(facts, kDefaults), kIssuerValid).status == Status::kFail);
}

TEST_CASE("identity: an issuer of the user's warns below 60 days") {
  Facts facts = healthy_facts();
  facts.issuer_secret =
      answer_json(200, secret("weft-identity-issuer", certificates().issuer.cert_pem, false));
  const auto result = find_result(check_identity(facts, kDefaults), kIssuerValid);
  CHECK(result.status == Status::kWarn);
  CHECK_THAT(result.hint, Catch::Contains("Bringing your own issuer"));
}

TEST_CASE("identity: not yet valid fails") {
  Facts facts = healthy_facts();
  facts.now -= Days(1);
  const auto result = find_result(check_identity(facts, kDefaults), kIssuerValid);
  CHECK(result.status == Status::kFail);
  CHECK_THAT(result.detail, Catch::StartsWith("not valid before"));
}

TEST_CASE("identity: an issuer signed by another anchor fails") {
  Facts facts = healthy_facts();
  facts.issuer_secret =
      answer_json(200, secret("weft-identity-issuer", certificates().foreign_issuer.cert_pem));
  const auto result = find_result(check_identity(facts, kDefaults), kSigned);
  CHECK(result.status == Status::kFail);
  CHECK_THAT(result.detail, Catch::Contains("signed by an unknown authority"));
}

TEST_CASE("identity: missing or unreadable objects") {
  Facts facts = healthy_facts();
  facts.trust_anchors = kNotFound;
  auto results = check_identity(facts, kDefaults);
  CHECK(find_result(results, "the trust anchors are published").status == Status::kFail);
  CHECK(find_result(results, kSigned).status == Status::kWarn);

  facts = healthy_facts();
  facts.trust_anchors.body["data"]["ca-bundle.crt"] = "garbage";
  CHECK(find_result(check_identity(facts, kDefaults), "the trust anchors are published").status ==
        Status::kFail);

  facts = healthy_facts();
  facts.issuer_secret = answer_json(403, {{"message", "forbidden"}});
  results = check_identity(facts, kDefaults);
  CHECK(find_result(results, "the issuer is readable").status == Status::kWarn);
  CHECK(healthy(results));
}
