#pragma once

// TESTS ONLY: the proxy's credentials read from a folder (chain.pem, key.pem,
// anchors.pem), for integration tests of mTLS without the issuer. Refused
// unless the environment sets WEFT_PROXY_ALLOW_TEST_CREDENTIALS=1, so that a
// flag slipped into a pod's command line cannot put a key on a disk. In a pod
// the identity client fills the CredentialStore from weft-identity.

#include <string>

#include "proxy/identity/credentials.h"
#include "weft/flags.h"
#include "weft/result.h"

namespace weft::proxy {

inline constexpr const char* kAllowTestCredentialsEnv = "WEFT_PROXY_ALLOW_TEST_CREDENTIALS";

Result<Credentials> load_test_credentials(const std::string& dir, const flags::Env& env);

}  // namespace weft::proxy
