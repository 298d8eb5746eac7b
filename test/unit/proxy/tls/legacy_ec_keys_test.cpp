// OpenSSL's built-in path to EC keys: a parsed certificate's key belongs to
// no provider while it is on, and to the default provider again after; the
// proxy's own keys are made and used on it. (The handshakes and each refusal
// on both paths are in tls_stream_test.cpp.)
//
// The proxy turns that path on by default; this test program leaves it off
// (OpenSSL's default) but where a test turns it on within a scope: keys read
// back from PEM are the provider's, and on the built-in path those cannot
// sign a certificate, which the control plane's fixtures here do. The proxy
// itself signs only its CSR, with a key it made on its own path.

#include "proxy/tls/legacy_ec_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proxy/identity/issuance.h"
#include "proxy/tls/tls_context.h"
#include "test/unit/proxy/tls/test_certificates.h"
#include "weft/identity/x509.h"
#include "weft/openssl.h"

using namespace weft::proxy;

namespace {

bool key_has_provider(const std::string& cert_pem) {
  const auto cert = weft::openssl::read_certificate(cert_pem);
  REQUIRE(cert);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  REQUIRE(key != nullptr);
  CHECK(EVP_PKEY_is_a(key, "EC"));
  return EVP_PKEY_get0_provider(key) != nullptr;
}

// A signature by `key` verifies with it, and fails for other data.
bool signs_and_verifies(EVP_PKEY* key) {
  const unsigned char data[] = "a request to sign";
  unsigned char signature[128];
  std::size_t length = sizeof signature;
  EVP_MD_CTX* sign = EVP_MD_CTX_new();
  const bool signed_ok = EVP_DigestSignInit(sign, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                         EVP_DigestSign(sign, signature, &length, data, sizeof data) == 1;
  EVP_MD_CTX_free(sign);
  if (!signed_ok) return false;
  const auto verify = [&](std::size_t data_length) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, signature, length, data, data_length) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
  };
  return verify(sizeof data) && !verify(sizeof data - 1);
}

}  // namespace

TEST_CASE("on OpenSSL 3.0 and 3.1, a certificate's EC key skips the provider decoder", "[tls]") {
  if (OpenSSL_version_num() >= 0x30200000L) {
    // Nothing to switch there: the call says so and changes nothing.
    const test::LegacyEcKeysScope path(true);
    CHECK(legacy_ec_keys_state() == LegacyEcKeys::kNotNeeded);
    return;
  }
  const auto ca = test::make_test_ca("anchor");
  std::string key_pem;
  const std::string leaf = test::make_test_leaf(ca, "spiffe://cluster.local/ns/a/sa/b", key_pem);
  std::vector<unsigned char> public_key_der;
  {
    const test::LegacyEcKeysScope path(true);
    REQUIRE(legacy_ec_keys_state() == LegacyEcKeys::kOn);
    CHECK_FALSE(key_has_provider(leaf));
    // Twice on is once on.
    CHECK(use_legacy_ec_keys() == LegacyEcKeys::kOn);
    // A key made on this path signs, and its signature verifies.
    const auto key = weft::openssl::new_p256_key();
    REQUIRE(key);
    CHECK(EVP_PKEY_get0_provider(key.get()) == nullptr);
    CHECK(EVP_PKEY_get_bits(key.get()) == 256);
    CHECK(signs_and_verifies(key.get()));
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key.get(), &der);
    REQUIRE(length > 0);
    public_key_der.assign(der, der + length);
    OPENSSL_free(der);
  }
  {
    const test::LegacyEcKeysScope path(false);
    CHECK(legacy_ec_keys_state() == LegacyEcKeys::kOff);
    CHECK(key_has_provider(leaf));
    // What the issuer reads of that key in a CSR: P-256 by name.
    const unsigned char* in = public_key_der.data();
    const weft::openssl::Owned<EVP_PKEY> read(
        d2i_PUBKEY(nullptr, &in, static_cast<long>(public_key_der.size())));
    REQUIRE(read);
    char group[64] = {};
    std::size_t group_length = 0;
    REQUIRE(EVP_PKEY_get_group_name(read.get(), group, sizeof group, &group_length) == 1);
    CHECK(std::string(group) == "prime256v1");
  }
}

TEST_CASE("the proxy's certificate request made on the built-in path is issued and accepted",
          "[tls][identity]") {
  using namespace std::chrono_literals;
  const weft::identity::WorkloadIdentity self{"cluster.local", "shop", "web"};
  const auto now = std::chrono::system_clock::now();
  std::optional<weft::identity::KeyAndRequest> request;
  {
    const test::LegacyEcKeysScope path(true);
    auto made = weft::identity::make_certificate_request(self);
    REQUIRE(made);
    request = *made;
  }
  // The control plane's side, on OpenSSL's default path as in the operator.
  auto anchor = weft::identity::make_trust_anchor("cluster.local", 24h, now);
  REQUIRE(anchor);
  auto issuer = weft::identity::make_issuer(*anchor, "cluster.local", 12h, now);
  REQUIRE(issuer);
  auto leaf = weft::identity::issue_leaf(*issuer, request->csr_pem, self, 1h, now);
  REQUIRE(leaf);
  const std::string body = nlohmann::json{
      {"certificate", *leaf},
      {"chain", issuer->cert_pem},
      {"identity", self.uri()},
      {"notAfter",
       "2030-01-01T00:00:00Z"}}.dump();
  const test::LegacyEcKeysScope path(true);
  const auto issued = accept_issued(body, request->key_pem, self, anchor->cert_pem, now, 64 * 1024);
  REQUIRE(issued.has_value());
  // And the credentials make a working mTLS context.
  CHECK(make_tls_context(issued->credentials, TlsRole::kServer).has_value());
}

TEST_CASE("the state of the EC key path reads as words", "[tls]") {
  CHECK(to_string(LegacyEcKeys::kOn) == "on");
  CHECK(to_string(LegacyEcKeys::kOff) == "off");
  CHECK(to_string(LegacyEcKeys::kNotNeeded).find("3.2") != std::string_view::npos);
  CHECK(to_string(LegacyEcKeys::kUnavailable).find("ENGINE") != std::string_view::npos);
  CHECK(to_string(LegacyEcKeys::kFailed).find("refused") != std::string_view::npos);
}
