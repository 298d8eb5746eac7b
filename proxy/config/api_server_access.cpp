#include "proxy/config/api_server_access.h"

#include <charconv>

#include "weft/file.h"

namespace weft::proxy {
namespace {

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

}  // namespace

std::string api_server_authority(const ApiServerAccess& access) {
  const bool ipv6 = access.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + access.host + "]" : access.host) + ":" + std::to_string(access.port);
}

std::optional<std::string> read_token(const std::string& path) {
  const auto text = read_file(path);
  if (!text) return std::nullopt;
  std::string token = trimmed(*text);
  if (token.empty()) return std::nullopt;
  return token;
}

Result<ApiServerAccess> in_cluster_access(const EnvLookup& env,
                                          const std::string& service_account_dir,
                                          const std::string& pod_namespace) {
  ApiServerAccess access;
  const auto host = env("KUBERNETES_SERVICE_HOST");
  if (!host || host->empty()) return Error{"KUBERNETES_SERVICE_HOST is not set"};
  access.host = *host;
  if (const auto port = env("KUBERNETES_SERVICE_PORT"); port && !port->empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (ec != std::errc{} || end != port->data() + port->size() || value == 0 || value > 65535) {
      return Error{"KUBERNETES_SERVICE_PORT '" + *port + "' is not a port"};
    }
    access.port = static_cast<std::uint16_t>(value);
  }
  access.token_path = service_account_dir + "/token";
  access.ca_path = service_account_dir + "/ca.crt";
  if (!read_token(access.token_path)) return Error{"no token in " + access.token_path};
  const auto ca = read_file(access.ca_path);
  if (!ca || ca->empty()) return Error{"no CA certificate in " + access.ca_path};
  access.ns = pod_namespace;
  if (access.ns.empty()) {
    const auto ns = read_file(service_account_dir + "/namespace");
    if (ns) access.ns = trimmed(*ns);
  }
  if (access.ns.empty()) {
    return Error{"unknown namespace: set --pod-namespace or provide " + service_account_dir +
                 "/namespace"};
  }
  return access;
}

}  // namespace weft::proxy
