#pragma once

// Certificates for the TLS tests: a trust anchor and leaves signed by it with
// a SPIFFE URI SAN, valid over any window (an expired one included). The
// mesh's own issuance (lib/weft/identity) is tested apart.

#include <chrono>
#include <string>

#include "proxy/identity/credentials.h"

namespace weft::proxy::test {

struct TestCa {
  std::string cert_pem;
  std::string key_pem;
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

}  // namespace weft::proxy::test
