#pragma once

// Certificates for the TLS tests: a trust anchor and leaves signed by it with
// a SPIFFE URI SAN, valid over any window (an expired one included). The
// mesh's own issuance (lib/weft/identity) is tested apart.

#include <openssl/evp.h>

#include <chrono>
#include <memory>
#include <string>

#include "proxy/identity/credentials.h"
#include "proxy/tls/legacy_ec_keys.h"

namespace weft::proxy::test {

struct TestCa {
  std::string cert_pem;
  std::string key_pem;
  // The key itself, made on the EC path of its test (a key read back from
  // key_pem is a provider's, which cannot sign a certificate on the other).
  std::shared_ptr<EVP_PKEY> key;
};

TestCa make_test_ca(const std::string& name);

// A leaf for `spiffe_id` (empty: no URI SAN) signed by `ca`, valid from
// now + from to now + until.
std::string make_test_leaf(const TestCa& ca, const std::string& spiffe_id, std::string& key_pem,
                           std::chrono::seconds from = std::chrono::seconds(-60),
                           std::chrono::seconds until = std::chrono::hours(1));

// Credentials for `spiffe_id` under `ca` (anchors: `anchors_pem`, or the CA).
Credentials make_test_credentials(const TestCa& ca, const std::string& spiffe_id,
                                  std::chrono::seconds from = std::chrono::seconds(-60),
                                  std::chrono::seconds until = std::chrono::hours(1),
                                  const std::string& anchors_pem = {});

// The same certificate with one byte of its signature changed (still
// well-formed DER): a chain with it must be refused.
std::string with_altered_signature(const std::string& cert_pem);

// Within its scope, EC keys take OpenSSL's built-in path (on) or the
// provider's (off); the previous choice comes back after. A test made of
// keys and certificates must make them inside the scope.
class LegacyEcKeysScope {
 public:
  explicit LegacyEcKeysScope(bool on);
  ~LegacyEcKeysScope();
  LegacyEcKeysScope(const LegacyEcKeysScope&) = delete;
  LegacyEcKeysScope& operator=(const LegacyEcKeysScope&) = delete;

 private:
  bool was_on_;
};

}  // namespace weft::proxy::test
