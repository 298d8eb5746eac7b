#include <catch2/catch.hpp>

#include "check_fixtures.h"
#include "weftctl/check/checks.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {
const std::string kVerifies = "the caBundle verifies the serving certificate";
const std::string kNames = "the serving certificate names weft-webhook.weft-system.svc";
const std::string kValid = "the serving certificate is valid";
}  // namespace

TEST_CASE("webhook: registered, its caBundle verifying a fresh certificate for its Service") {
  const auto results = check_webhook(healthy_facts());
  CHECK(results.size() == 6);
  CHECK(healthy(results));
  CHECK_THAT(find_result(results, kValid).detail, Catch::StartsWith("expires in 89 days"));
}

TEST_CASE("webhook: 25 days left warns, expired fails (the serving certificate lives 90 days)") {
  Facts facts = healthy_facts();
  facts.now += Days(65);
  const auto soon = find_result(check_webhook(facts), kValid);
  CHECK(soon.status == Status::kWarn);
  CHECK_THAT(soon.detail, Catch::Contains("less than 30 days"));
  CHECK_THAT(soon.hint, Catch::Contains("weft-webhook-tls"));
  facts.now = certificates().made + Days(91);
  const auto results = check_webhook(facts);
  const auto expired = find_result(results, kValid);
  CHECK(expired.status == Status::kFail);
  CHECK_THAT(expired.detail, Catch::StartsWith("expired at "));
  // Its signature still verifies: the expiry is reported once.
  CHECK(find_result(results, kVerifies).status == Status::kOk);
}

TEST_CASE("webhook: a caBundle of another CA fails") {
  Facts facts = healthy_facts();
  facts.webhook_configuration =
      answer_json(200, webhook_configuration(certificates().other_ca.cert));
  const auto result = find_result(check_webhook(facts), kVerifies);
  CHECK(result.status == Status::kFail);
  CHECK_THAT(result.detail, Catch::Contains("signed by an unknown authority"));
}

TEST_CASE("webhook: a certificate without the Service's name fails") {
  Facts facts = healthy_facts();
  facts.webhook_secret =
      answer_json(200, secret("weft-webhook-tls", certificates().wrong_name.cert));
  const auto result = find_result(check_webhook(facts), kNames);
  CHECK(result.status == Status::kFail);
  CHECK_THAT(result.detail, Catch::StartsWith("its DNS names are other.weft-system.svc"));
  CHECK(find_result(check_webhook(facts), kVerifies).status == Status::kOk);
}

TEST_CASE("webhook: missing configuration, caBundle or Secret") {
  Facts facts = healthy_facts();
  facts.webhook_configuration = kNotFound;
  auto results = check_webhook(facts);
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == Status::kFail);

  facts = healthy_facts();
  facts.webhook_configuration.body["webhooks"][1]["clientConfig"].erase("caBundle");
  results = check_webhook(facts);
  CHECK(find_result(results, "its caBundle is set").detail == "no caBundle in pod.inject.weft.io");
  CHECK_FALSE(healthy(results));

  facts = healthy_facts();
  facts.webhook_secret = answer_json(403, {{"message", "secrets is forbidden"}});
  results = check_webhook(facts);
  CHECK(find_result(results, "its serving certificate is readable").status == Status::kWarn);
  CHECK(healthy(results));

  facts.webhook_secret = kNotFound;
  CHECK(find_result(check_webhook(facts), "its serving certificate is readable").status ==
        Status::kFail);
}
