#include "proxy/tls/test_credentials.h"

#include "proxy/tls/tls_context.h"
#include "weft/file.h"

namespace weft::proxy {

Result<Credentials> load_test_credentials(const std::string& dir, const flags::Env& env) {
  const auto allowed = env(kAllowTestCredentialsEnv);
  if (!allowed || *allowed != "1") {
    return Error{"--test-credentials-dir is for tests only: set " +
                 std::string(kAllowTestCredentialsEnv) + "=1 to use it"};
  }
  Credentials credentials;
  for (const auto& [name, field] : {std::pair{"chain.pem", &Credentials::chain_pem},
                                    std::pair{"key.pem", &Credentials::key_pem},
                                    std::pair{"anchors.pem", &Credentials::anchors_pem}}) {
    auto text = read_file(dir + "/" + name);
    if (!text) return Error{"test credentials: " + text.error().message};
    credentials.*field = std::move(*text);
  }
  // Usable as they are, or refused now rather than at the first connection.
  if (auto context = make_tls_context(credentials, TlsRole::kServer); !context) {
    return Error{"test credentials: " + context.error().message};
  }
  return credentials;
}

}  // namespace weft::proxy
