#include "weft/http/certificates.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "weft/openssl.h"

using namespace std::chrono;

namespace {

// Verifies `leaf` against `ca` with OpenSSL's own chain verification.
bool verifies(const std::string& ca_pem, const std::string& leaf_pem) {
  const auto ca = weft::openssl::read_certificate(ca_pem);
  const auto leaf = weft::openssl::read_certificate(leaf_pem);
  const weft::openssl::Owned<X509_STORE> store(X509_STORE_new());
  const weft::openssl::Owned<X509_STORE_CTX> context(X509_STORE_CTX_new());
  X509_STORE_add_cert(store.get(), ca.get());
  X509_STORE_CTX_init(context.get(), store.get(), leaf.get(), nullptr);
  return X509_verify_cert(context.get()) == 1;
}

}  // namespace

TEST_CASE("a CA issues a serving certificate that verifies against it", "[certificates]") {
  auto ca = weft::http::make_certificate_authority("weft-webhook-ca", hours(24));
  REQUIRE(ca);
  CHECK(ca->cert.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(ca->key.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  weft::http::CertificateRequest request;
  request.common_name = "weft-webhook.weft-system.svc";
  request.dns_names = {"weft-webhook.weft-system.svc"};
  request.ip_addresses = {"127.0.0.1"};
  request.validity = hours(2);
  auto serving = weft::http::issue_certificate(*ca, request);
  REQUIRE(serving);
  CHECK(verifies(ca->cert, serving->cert));
  auto other = weft::http::make_certificate_authority("other", hours(24));
  REQUIRE(other);
  CHECK_FALSE(verifies(other->cert, serving->cert));

  auto not_after = weft::http::certificate_not_after(serving->cert);
  REQUIRE(not_after);
  const auto left = *not_after - system_clock::now();
  CHECK(left > minutes(119));
  CHECK(left <= hours(2));
}

TEST_CASE("certificate errors are reported, not thrown", "[certificates]") {
  auto ca = weft::http::make_certificate_authority("ca", hours(1));
  REQUIRE(ca);
  weft::http::CertificateRequest no_names;
  no_names.common_name = "x";
  auto nameless = weft::http::issue_certificate(*ca, no_names);
  REQUIRE_FALSE(nameless);
  CHECK_THAT(nameless.error().message, Catch::Contains("at least one DNS name or IP"));

  weft::http::CertificateRequest bad_ip;
  bad_ip.ip_addresses = {"300.1.1.1"};
  CHECK_FALSE(weft::http::issue_certificate(*ca, bad_ip));

  weft::http::PemCertificate broken{"garbage", ca->key};
  weft::http::CertificateRequest fine;
  fine.dns_names = {"a"};
  auto no_ca = weft::http::issue_certificate(broken, fine);
  REQUIRE_FALSE(no_ca);
  CHECK_THAT(no_ca.error().message, Catch::Contains("CA certificate"));
  CHECK_FALSE(weft::http::certificate_not_after("not pem"));
}
