#include "weft/openssl.h"

#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <string>

using namespace weft::openssl;

namespace {

// A v3 certificate for `key` naming itself as issuer: no extension, not signed.
Owned<X509> self_signed(EVP_PKEY* key) {
  Owned<X509> cert(X509_new());
  X509* c = cert.get();
  REQUIRE(X509_set_version(c, X509_VERSION_3) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(c), 7) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(c), -60) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(c), 3600) != nullptr);
  REQUIRE(X509_set_pubkey(c, key) == 1);
  REQUIRE(X509_set_issuer_name(c, X509_get_subject_name(c)) == 1);
  return cert;
}

}  // namespace

TEST_CASE("openssl: a key and a certificate to PEM and back", "[openssl]") {
  const auto key = new_p256_key();
  REQUIRE(key);
  CHECK(EVP_PKEY_is_a(key.get(), "EC"));
  CHECK(EVP_PKEY_get_bits(key.get()) == 256);
  const auto cert = self_signed(key.get());
  REQUIRE(add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  REQUIRE(add_extension(cert.get(), cert.get(), NID_subject_alt_name,
                        "URI:spiffe://cluster.local/ns/shop/sa/web"));
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);

  const auto key_pem = private_key_pem(key.get());
  REQUIRE(key_pem);
  CHECK(key_pem->starts_with("-----BEGIN PRIVATE KEY-----\n"));  // PKCS#8
  const auto cert_pem = certificate_pem(cert.get());
  REQUIRE(cert_pem);
  CHECK(cert_pem->starts_with("-----BEGIN CERTIFICATE-----\n"));

  // Read back (text before the block skipped): the same key and certificate.
  const auto key_again = read_private_key(*key_pem);
  REQUIRE(key_again);
  CHECK(EVP_PKEY_eq(key_again.get(), key.get()) == 1);
  const auto cert_again = read_certificate("a comment line\n" + *cert_pem + *key_pem);
  REQUIRE(cert_again);
  CHECK(X509_cmp(cert_again.get(), cert.get()) == 0);
  CHECK(X509_check_ca(cert_again.get()) == 1);
  const int san = X509_get_ext_by_NID(cert_again.get(), NID_subject_alt_name, -1);
  CHECK(san >= 0);
}

TEST_CASE("openssl: what is not PEM of the kind asked for reads as nothing", "[openssl]") {
  const auto key = new_p256_key();
  const auto key_pem = private_key_pem(key.get());
  REQUIRE(key_pem);
  CHECK_FALSE(read_certificate(""));
  CHECK_FALSE(read_certificate("garbage"));
  CHECK_FALSE(read_certificate(*key_pem));
  CHECK_FALSE(read_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
}

TEST_CASE("openssl: an extension OpenSSL cannot read is refused, not added", "[openssl]") {
  const auto key = new_p256_key();
  const auto cert = self_signed(key.get());
  CHECK_FALSE(add_extension(cert.get(), cert.get(), NID_key_usage, "notAUsage"));
  CHECK_FALSE(add_extension(cert.get(), cert.get(), NID_subject_alt_name, "NOPE:x"));
  CHECK(X509_get_ext_count(cert.get()) == 0);
}

TEST_CASE("openssl: a memory BIO reads the text it was given", "[openssl]") {
  const std::string text = "some bytes\n";
  const auto bio = memory_bio(text);
  REQUIRE(bio);
  CHECK(bio_text(bio.get()) == text);
}
