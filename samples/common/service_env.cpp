#include "samples/common/service_env.h"

namespace weft::samples {

std::optional<std::string> service_host_variable(std::string_view host) {
  if (host.empty() || host.size() > 63 || host.front() < 'a' || host.front() > 'z' ||
      host.back() == '-') {
    return std::nullopt;
  }
  std::string variable;
  for (char c : host) {
    if (c >= 'a' && c <= 'z') {
      variable += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= '0' && c <= '9')) {
      variable += c;
    } else if (c == '-') {
      variable += '_';
    } else {
      return std::nullopt;
    }
  }
  return variable + "_SERVICE_HOST";
}

std::optional<std::string> service_host_from_env(std::string_view host, const EnvLookup& env) {
  auto variable = service_host_variable(host);
  if (!variable) return std::nullopt;
  auto value = env(*variable);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

}  // namespace weft::samples
