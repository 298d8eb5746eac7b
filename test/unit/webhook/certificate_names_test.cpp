// A change of the certificate's names re-issues the serving certificate at once.

#include <catch2/catch.hpp>

#include "webhook/certificate_plan.h"
#include "weft/http/certificates.h"

using namespace std::chrono;
using weft::webhook::CertificatePolicy;
using weft::webhook::plan_certificates;

TEST_CASE("new DNS names re-issue the serving certificate at once, by the same CA",
          "[certificates]") {
  const auto now = system_clock::now();
  const std::vector<std::string> before{"weft-webhook.weft-system.svc"};
  auto first = plan_certificates(std::nullopt, before, CertificatePolicy{}, now);
  REQUIRE(first);

  const std::vector<std::string> after{"weft-webhook.weft-system.svc",
                                       "weft-webhook.weft-system.svc.cluster.local", "10.96.0.20"};
  auto renamed = plan_certificates(first->bundle, after, CertificatePolicy{}, now + minutes(1));
  REQUIRE(renamed);
  CHECK(renamed->changed);
  CHECK(renamed->reason == "serving certificate names changed");
  CHECK(renamed->bundle.ca_cert == first->bundle.ca_cert);
  auto names = weft::http::certificate_names(renamed->bundle.tls_cert);
  REQUIRE(names);
  CHECK(names->dns_names == std::vector<std::string>{"weft-webhook.weft-system.svc",
                                                     "weft-webhook.weft-system.svc.cluster.local"});
  CHECK(names->ip_addresses == std::vector<std::string>{"10.96.0.20"});

  // The same names in another order or spelling: nothing to do.
  const std::vector<std::string> reordered{
      "10.96.0.20", "weft-webhook.weft-system.svc.cluster.local", "weft-webhook.weft-system.svc"};
  auto again = plan_certificates(renamed->bundle, reordered, CertificatePolicy{}, now);
  REQUIRE(again);
  CHECK_FALSE(again->changed);

  // A name removed is also a change.
  auto fewer = plan_certificates(renamed->bundle, before, CertificatePolicy{}, now);
  REQUIRE(fewer);
  CHECK(fewer->changed);
}

TEST_CASE("IPv6 names compare in their canonical form", "[certificates]") {
  const auto now = system_clock::now();
  auto first = plan_certificates(std::nullopt, {"fd00:0:0::1", "svc"}, CertificatePolicy{}, now);
  REQUIRE(first);
  auto names = weft::http::certificate_names(first->bundle.tls_cert);
  REQUIRE(names);
  CHECK(names->ip_addresses == std::vector<std::string>{"fd00::1"});
  auto same = plan_certificates(first->bundle, {"svc", "fd00::1"}, CertificatePolicy{}, now);
  REQUIRE(same);
  CHECK_FALSE(same->changed);
}
