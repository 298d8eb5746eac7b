#pragma once

// Where the API server is and how the proxy authenticates to it, from inside
// its pod: KUBERNETES_SERVICE_HOST/PORT (set by the kubelet in every
// container) and the service-account directory (token, ca.crt, namespace).
// Only paths are kept: the ConfigMap watch re-reads the token and CA at each
// connection, since the kubelet rotates projected tokens in place.

#include <cstdint>
#include <optional>
#include <string>

#include "proxy/settings.h"
#include "weft/result.h"

namespace weft::proxy {

struct ApiServerAccess {
  std::string host;  // an IP address (as the kubelet sets it) or a DNS name
  std::uint16_t port = 443;
  std::string token_path;
  std::string ca_path;
  std::string ns;  // the namespace of the ConfigMap
};

// Fails, saying what is missing, when the host, the token, the CA or the
// namespace cannot be found. `pod_namespace` wins over the token's namespace.
Result<ApiServerAccess> in_cluster_access(const EnvLookup& env,
                                          const std::string& service_account_dir,
                                          const std::string& pod_namespace);

// "host:port" for the Host header and logs; an IPv6 address is bracketed.
std::string api_server_authority(const ApiServerAccess& access);

// The token file's content without surrounding whitespace; nullopt when it
// cannot be read or is empty.
std::optional<std::string> read_token(const std::string& path);

}  // namespace weft::proxy
