#include "webhook/certificate_plan.h"

#include <catch2/catch.hpp>

#include "weft/http/certificates.h"

using namespace std::chrono;
using weft::webhook::CertificatePolicy;
using weft::webhook::plan_certificates;

namespace {

const std::vector<std::string> kNames{"weft-webhook.weft-system.svc"};

int count_certificates(const std::string& bundle) {
  int count = 0;
  for (auto at = bundle.find("BEGIN CERTIFICATE"); at != std::string::npos;
       at = bundle.find("BEGIN CERTIFICATE", at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("nothing stored: a CA and a serving certificate are made", "[certificates]") {
  auto plan = plan_certificates(std::nullopt, kNames, CertificatePolicy{}, system_clock::now());
  REQUIRE(plan);
  CHECK(plan->changed);
  CHECK(plan->reason == "no certificate yet");
  CHECK(count_certificates(plan->bundle.ca_cert) == 1);
  auto expiry = weft::http::certificate_not_after(plan->bundle.tls_cert);
  REQUIRE(expiry);
  CHECK(*expiry - system_clock::now() > hours(24 * 89));
}

TEST_CASE("a valid bundle is kept as is", "[certificates]") {
  const auto now = system_clock::now();
  auto first = plan_certificates(std::nullopt, kNames, CertificatePolicy{}, now);
  REQUIRE(first);
  auto second = plan_certificates(first->bundle, kNames, CertificatePolicy{}, now + hours(24));
  REQUIRE(second);
  CHECK_FALSE(second->changed);
  CHECK(second->bundle == first->bundle);
}

TEST_CASE("the serving certificate is renewed before expiry, by the same CA", "[certificates]") {
  const auto now = system_clock::now();
  auto first = plan_certificates(std::nullopt, kNames, CertificatePolicy{}, now);
  REQUIRE(first);
  // 61 days later, 29 days are left: inside the 30-day window.
  auto later = plan_certificates(first->bundle, kNames, CertificatePolicy{}, now + hours(24 * 61));
  REQUIRE(later);
  CHECK(later->changed);
  CHECK(later->reason == "serving certificate expires soon");
  CHECK(later->bundle.ca_cert == first->bundle.ca_cert);
  CHECK(later->bundle.ca_key == first->bundle.ca_key);
  CHECK(later->bundle.tls_cert != first->bundle.tls_cert);
}

TEST_CASE("a CA near expiry is replaced; the old one stays trusted beside it", "[certificates]") {
  CertificatePolicy policy;
  policy.ca_validity = hours(24 * 200);
  const auto now = system_clock::now();
  auto first = plan_certificates(std::nullopt, kNames, policy, now);
  REQUIRE(first);
  auto later = plan_certificates(first->bundle, kNames, policy, now + hours(24 * 30));
  REQUIRE(later);
  CHECK(later->changed);
  CHECK(later->reason == "CA expires soon");
  CHECK(later->bundle.ca_key != first->bundle.ca_key);
  CHECK(count_certificates(later->bundle.ca_cert) == 2);
  CHECK(later->bundle.ca_cert.ends_with(first->bundle.ca_cert));
}

TEST_CASE("unreadable stored material is replaced", "[certificates]") {
  weft::webhook::CertificateBundle junk{"x", "y", "z", "w"};
  auto plan = plan_certificates(junk, kNames, CertificatePolicy{}, system_clock::now());
  REQUIRE(plan);
  CHECK(plan->changed);
  CHECK(plan->reason == "stored certificates are unreadable");
  CHECK_FALSE(plan_certificates(std::nullopt, {}, CertificatePolicy{}, system_clock::now()));
}
