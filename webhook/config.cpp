#include "webhook/config.h"

#include <charconv>
#include <regex>
#include <set>
#include <tuple>

#include "weft/flags.h"
#include "weft/log.h"

namespace weft::webhook {
namespace {

using nlohmann::json;

// Reads the optional fields of one JSON object, refusing wrong types, and
// remembers which keys it was asked about so unknown keys can be refused too.
class FieldReader {
 public:
  FieldReader(const json& object, std::string where) : object_(object), where_(std::move(where)) {}

  Result<bool> string(std::string_view key, std::string& out, bool allow_empty = false) {
    known_.insert(std::string(key));
    const auto it = object_.find(key);
    if (it == object_.end()) return true;
    if (!it->is_string()) return Error{name(key) + " must be a string"};
    if (!allow_empty && it->get_ref<const std::string&>().empty()) {
      return Error{name(key) + " must not be empty"};
    }
    out = it->get<std::string>();
    return true;
  }

  template <typename Integer>
  Result<bool> integer(std::string_view key, Integer& out, std::int64_t min, std::int64_t max) {
    known_.insert(std::string(key));
    const auto it = object_.find(key);
    if (it == object_.end()) return true;
    if (!it->is_number_integer()) return Error{name(key) + " must be an integer"};
    const auto value = it->get<std::int64_t>();
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
      return Error{name(key) + " must be between " + std::to_string(min) + " and " +
                   std::to_string(max)};
    }
    if (value < min || value > max) {
      return Error{name(key) + " must be between " + std::to_string(min) + " and " +
                   std::to_string(max)};
    }
    out = static_cast<Integer>(value);
    return true;
  }

  Result<bool> string_list(std::string_view key, std::vector<std::string>& out) {
    known_.insert(std::string(key));
    const auto it = object_.find(key);
    if (it == object_.end()) return true;
    if (!it->is_array() || it->empty()) return Error{name(key) + " must be a non-empty list"};
    std::vector<std::string> values;
    for (const auto& item : *it) {
      if (!item.is_string() || item.get_ref<const std::string&>().empty()) {
        return Error{name(key) + " must hold non-empty strings"};
      }
      values.push_back(item.get<std::string>());
    }
    out = std::move(values);
    return true;
  }

  // A list of namespace names, or ["*"]; empty allowed (what to_json writes for none).
  Result<bool> namespace_list(std::string_view key, std::vector<std::string>& out) {
    known_.insert(std::string(key));
    const auto it = object_.find(key);
    if (it == object_.end()) return true;
    if (!it->is_array()) return Error{name(key) + " must be a list of namespace names"};
    static const std::regex label("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
    std::vector<std::string> values;
    for (const auto& item : *it) {
      const std::string text = item.is_string() ? item.get<std::string>() : std::string();
      if (text != "*" && !std::regex_match(text, label)) {
        return Error{name(key) + " must hold namespace names or \"*\", not " + item.dump()};
      }
      values.push_back(text);
    }
    out = std::move(values);
    return true;
  }

  const json* object(std::string_view key) {
    known_.insert(std::string(key));
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  Result<bool> no_unknown_keys() const {
    for (const auto& [key, value] : object_.items()) {
      if (!known_.contains(key)) return Error{"unknown field " + name(key)};
    }
    return true;
  }

  std::string name(std::string_view key) const { return where_ + std::string(key); }

 private:
  const json& object_;
  std::string where_;
  std::set<std::string, std::less<>> known_;
};

// Returns the error of a Result<bool> step to the caller; the configuration has
// some twenty such steps, and spelling each out would bury what they read.
#define WEFT_TRY(expression)                              \
  do {                                                    \
    auto weft_try_result = (expression);                  \
    if (!weft_try_result) return weft_try_result.error(); \
  } while (false)

Result<bool> read_resources(FieldReader& parent, std::string_view key, ResourceSettings& out) {
  const json* object = parent.object(key);
  if (object == nullptr) return true;
  if (!object->is_object()) return Error{parent.name(key) + " must be an object"};
  FieldReader reader(*object, parent.name(key) + ".");
  WEFT_TRY(reader.string("cpuRequest", out.cpu_request, true));
  WEFT_TRY(reader.string("cpuLimit", out.cpu_limit, true));
  WEFT_TRY(reader.string("memoryRequest", out.memory_request, true));
  WEFT_TRY(reader.string("memoryLimit", out.memory_limit, true));
  WEFT_TRY(reader.no_unknown_keys());
  for (const auto& [field, value] :
       {std::pair{"cpuRequest", &out.cpu_request}, std::pair{"cpuLimit", &out.cpu_limit},
        std::pair{"memoryRequest", &out.memory_request},
        std::pair{"memoryLimit", &out.memory_limit}}) {
    if (!value->empty() && !is_valid_quantity(*value)) {
      return Error{reader.name(field) + ": '" + *value + "' is not a Kubernetes quantity"};
    }
  }
  return true;
}

}  // namespace

bool is_valid_quantity(std::string_view text) {
  // The API server's grammar (k8s.io/apimachinery resource.Quantity), without a sign:
  // a decimal number, then a binary (Ki..Ei), decimal (n u m k M G T P E) or
  // exponent suffix.
  static const std::regex quantity(
      R"(^([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$)");
  return text.size() <= 64 && std::regex_match(text.begin(), text.end(), quantity);
}

Result<bool> supports_native_sidecars(std::string_view git_version) {
  std::string_view text = git_version;
  if (!text.empty() && text.front() == 'v') text.remove_prefix(1);
  int major = 0;
  int minor = 0;
  const char* end = text.data() + text.size();
  auto [after_major, error_major] = std::from_chars(text.data(), end, major);
  if (error_major != std::errc() || after_major == end || *after_major != '.') {
    return Error{"cannot read a Kubernetes version from '" + std::string(git_version) + "'"};
  }
  auto [after_minor, error_minor] = std::from_chars(after_major + 1, end, minor);
  if (error_minor != std::errc()) {
    return Error{"cannot read a Kubernetes version from '" + std::string(git_version) + "'"};
  }
  return major > 1 || (major == 1 && minor >= 29);
}

std::string resolve_identity_address(const std::string& configured,
                                     const std::function<const char*(const char*)>& env) {
  const std::string by_name =
      std::string(kIdentityServerName) + ":" + std::to_string(kIdentityPort);
  if (configured != by_name) return configured;
  const char* host = env("WEFT_IDENTITY_SERVICE_HOST");
  const char* port = env("WEFT_IDENTITY_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') return configured;
  const std::string h = host;
  const std::string address = (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  // Variables are the kubelet's, but a bad one must not reach every pod.
  if (auto parsed = flags::parse_host_port(address, {.ip_literal = true}); !parsed)
    return configured;
  return address;
}

Result<InjectorConfig> parse_config(std::string_view json_text) {
  const json document = json::parse(json_text, nullptr, false);
  if (document.is_discarded()) return Error{"the configuration is not valid JSON"};
  if (!document.is_object()) return Error{"the configuration must be a JSON object"};
  InjectorConfig config;
  FieldReader reader(document, "");
  WEFT_TRY(reader.string("proxyImage", config.proxy_image));
  WEFT_TRY(reader.string("initImage", config.init_image));
  WEFT_TRY(reader.string("proxyVersion", config.proxy_version));
  WEFT_TRY(reader.string("imagePullPolicy", config.image_pull_policy));
  WEFT_TRY(reader.integer("proxyUid", config.proxy_uid, 1, 2147483647));
  WEFT_TRY(reader.integer("inboundPort", config.inbound_port, 1, 65535));
  WEFT_TRY(reader.integer("outboundPort", config.outbound_port, 1, 65535));
  WEFT_TRY(reader.integer("adminPort", config.admin_port, 1, 65535));
  WEFT_TRY(reader.string("readyPath", config.ready_path));
  WEFT_TRY(reader.string("logLevel", config.log_level));
  std::string mode = "auto";
  WEFT_TRY(reader.string("sidecarMode", mode));
  WEFT_TRY(reader.string_list("classicWaitCommand", config.classic_wait_command));
  WEFT_TRY(read_resources(reader, "proxyResources", config.proxy_resources));
  WEFT_TRY(read_resources(reader, "initResources", config.init_resources));
  WEFT_TRY(reader.integer("identityTokenExpirationSeconds",
                          config.identity_token_expiration_seconds, 600, 86400 * 2));
  WEFT_TRY(reader.string("identityAddress", config.identity_address));
  std::string skip_inbound, skip_outbound, skip_subnets;
  WEFT_TRY(reader.string("skipInboundPorts", skip_inbound, true));
  WEFT_TRY(reader.string("skipOutboundPorts", skip_outbound, true));
  WEFT_TRY(reader.string("skipSubnets", skip_subnets, true));
  std::string allowed_inbound, allowed_outbound, allowed_subnets;
  WEFT_TRY(reader.string("podSkipAllowedInboundPorts", allowed_inbound, true));
  WEFT_TRY(reader.string("podSkipAllowedOutboundPorts", allowed_outbound, true));
  WEFT_TRY(reader.string("podSkipAllowedSubnets", allowed_subnets, true));
  WEFT_TRY(reader.integer("podSkipMaxPorts", config.pod_skip_max_ports, 0, 65535));
  WEFT_TRY(reader.integer("podSkipMinPrefixLength", config.pod_skip_min_prefix_length, 0, 32));
  WEFT_TRY(reader.namespace_list("podNetworkAdminAllowedNamespaces",
                                 config.pod_network_admin_allowed_namespaces));
  WEFT_TRY(reader.no_unknown_keys());

  if (mode == "auto") {
    config.sidecar_mode = SidecarMode::kAuto;
  } else if (mode == "native") {
    config.sidecar_mode = SidecarMode::kNative;
  } else if (mode == "classic") {
    config.sidecar_mode = SidecarMode::kClassic;
  } else {
    return Error{"sidecarMode must be auto, native or classic, not '" + mode + "'"};
  }
  if (!parse_log_level(config.log_level)) {
    return Error{"logLevel must be debug, info, warn or error, not '" + config.log_level + "'"};
  }
  if (config.image_pull_policy != "Always" && config.image_pull_policy != "IfNotPresent" &&
      config.image_pull_policy != "Never") {
    return Error{"imagePullPolicy must be Always, IfNotPresent or Never"};
  }
  if (config.ready_path.front() != '/') return Error{"readyPath must start with '/'"};
  // A DNS name or an IP literal, and a port: what the proxy's
  // --identity-address takes.
  if (auto address = flags::parse_host_port(config.identity_address, {.ip_literal = false});
      !address || address->host.empty()) {
    return Error{"identityAddress: '" + config.identity_address +
                 "' is not HOST:PORT (e.g. weft-identity.weft-system.svc:8443)"};
  }
  auto inbound = capture::parse_port_list(skip_inbound);
  if (!inbound) return Error{"skipInboundPorts: " + inbound.error().message};
  auto outbound = capture::parse_port_list(skip_outbound);
  if (!outbound) return Error{"skipOutboundPorts: " + outbound.error().message};
  auto subnets = capture::parse_subnet_list(skip_subnets);
  if (!subnets) return Error{"skipSubnets: " + subnets.error().message};
  config.skip_inbound_ports = std::move(*inbound);
  config.skip_outbound_ports = std::move(*outbound);
  config.skip_subnets = std::move(*subnets);
  for (const auto& [key, text, out] : {std::tuple{"podSkipAllowedInboundPorts", &allowed_inbound,
                                                  &config.pod_skip_allowed_inbound_ports},
                                       std::tuple{"podSkipAllowedOutboundPorts", &allowed_outbound,
                                                  &config.pod_skip_allowed_outbound_ports}}) {
    auto ports = capture::parse_port_list(*text);
    if (!ports) return Error{std::string(key) + ": " + ports.error().message};
    *out = std::move(*ports);
  }
  auto allowed = capture::parse_subnet_list(allowed_subnets);
  if (!allowed) return Error{"podSkipAllowedSubnets: " + allowed.error().message};
  config.pod_skip_allowed_subnets = std::move(*allowed);

  capture::CaptureSettings capture;
  capture.proxy_uid = config.proxy_uid;
  capture.inbound_port = config.inbound_port;
  capture.outbound_port = config.outbound_port;
  capture.admin_port = config.admin_port;
  auto valid = capture::validate(capture);
  if (!valid) return valid.error();
  return config;
}

nlohmann::json to_json(const InjectorConfig& config) {
  const auto resources = [](const ResourceSettings& r) {
    return json{{"cpuRequest", r.cpu_request},
                {"cpuLimit", r.cpu_limit},
                {"memoryRequest", r.memory_request},
                {"memoryLimit", r.memory_limit}};
  };
  const char* mode = config.sidecar_mode == SidecarMode::kNative    ? "native"
                     : config.sidecar_mode == SidecarMode::kClassic ? "classic"
                                                                    : "auto";
  return json{
      {"proxyImage", config.proxy_image},
      {"initImage", config.init_image},
      {"proxyVersion", config.proxy_version},
      {"imagePullPolicy", config.image_pull_policy},
      {"proxyUid", config.proxy_uid},
      {"inboundPort", config.inbound_port},
      {"outboundPort", config.outbound_port},
      {"adminPort", config.admin_port},
      {"readyPath", config.ready_path},
      {"logLevel", config.log_level},
      {"sidecarMode", mode},
      {"classicWaitCommand", config.classic_wait_command},
      {"proxyResources", resources(config.proxy_resources)},
      {"initResources", resources(config.init_resources)},
      {"identityTokenExpirationSeconds", config.identity_token_expiration_seconds},
      {"identityAddress", config.identity_address},
      {"skipInboundPorts", capture::format_port_list(config.skip_inbound_ports)},
      {"skipOutboundPorts", capture::format_port_list(config.skip_outbound_ports)},
      {"skipSubnets", capture::format_subnet_list(config.skip_subnets)},
      {"podSkipAllowedInboundPorts",
       capture::format_port_list(config.pod_skip_allowed_inbound_ports)},
      {"podSkipAllowedOutboundPorts",
       capture::format_port_list(config.pod_skip_allowed_outbound_ports)},
      {"podSkipAllowedSubnets", capture::format_subnet_list(config.pod_skip_allowed_subnets)},
      {"podSkipMaxPorts", config.pod_skip_max_ports},
      {"podSkipMinPrefixLength", config.pod_skip_min_prefix_length},
      {"podNetworkAdminAllowedNamespaces", config.pod_network_admin_allowed_namespaces}};
}

#undef WEFT_TRY

}  // namespace weft::webhook
