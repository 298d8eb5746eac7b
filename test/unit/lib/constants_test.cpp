#include "weft/constants.h"

#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <string>

// These names end up in Kubernetes objects; a bad edit here would only show as
// an API server rejection at install or injection time, so check the rules now.

namespace {

// RFC 1123 label: what Kubernetes requires of container, ConfigMap and namespace names.
bool is_dns_label(std::string_view name) {
  static const std::regex dns_label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return name.size() <= 63 && std::regex_match(std::string(name), dns_label);
}

// RFC 1123 subdomain: dot-separated DNS labels, at most 253 characters.
bool is_dns_subdomain(std::string_view name) {
  static const std::regex subdomain(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return !name.empty() && name.size() <= 253 && std::regex_match(std::string(name), subdomain);
}

// A label or annotation key, by apimachinery's IsQualifiedName: an optional
// DNS-subdomain prefix and a slash, then a name of at most 63 characters that
// starts and ends alphanumeric, with '-', '_' and '.' inside.
bool is_qualified_name(std::string_view key) {
  static const std::regex name_part("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  const auto slash = key.find('/');
  std::string_view name = key;
  if (slash != std::string_view::npos) {
    if (!is_dns_subdomain(key.substr(0, slash))) return false;
    name = key.substr(slash + 1);
  }
  return !name.empty() && name.size() <= 63 && std::regex_match(std::string(name), name_part);
}

// A label value, by IsValidLabelValue: empty, or a qualified name's name part.
bool is_label_value(std::string_view value) {
  static const std::regex label_value("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  return value.size() <= 63 && std::regex_match(std::string(value), label_value);
}

}  // namespace

TEST_CASE("the validators follow the API server's rules", "[constants]") {
  // Without these, a validator that accepts everything would pass every check below.
  CHECK(is_qualified_name("weft.io/inject"));
  CHECK(is_qualified_name("app.kubernetes.io/managed-by"));
  CHECK(is_qualified_name("inject"));
  CHECK_FALSE(is_qualified_name("weft.io/"));                         // empty name
  CHECK_FALSE(is_qualified_name("/inject"));                          // empty prefix
  CHECK_FALSE(is_qualified_name("Weft.io/inject"));                   // prefix is lower case
  CHECK_FALSE(is_qualified_name("weft.io/a/b"));                      // one slash at most
  CHECK_FALSE(is_qualified_name("weft.io/-inject"));                  // starts alphanumeric
  CHECK_FALSE(is_qualified_name("weft.io/inject_"));                  // ends alphanumeric
  CHECK_FALSE(is_qualified_name("weft..io/inject"));                  // empty DNS label
  CHECK_FALSE(is_qualified_name("weft.io/" + std::string(64, 'a')));  // name over 63
  CHECK(is_qualified_name("weft.io/" + std::string(63, 'a')));
  CHECK(is_label_value(""));
  CHECK(is_label_value("v1.2_b-c"));
  CHECK_FALSE(is_label_value("a b"));
  CHECK_FALSE(is_label_value(std::string(64, 'a')));
}

TEST_CASE("object names are valid DNS labels", "[constants]") {
  CHECK(is_dns_label(weft::kProxyContainerName));
  CHECK(is_dns_label(weft::kInitContainerName));
  CHECK(is_dns_label(weft::kProxyConfigMapName));
  CHECK(is_dns_label(weft::kProxyHealthConfigMapName));
  CHECK(is_dns_label(weft::kControlPlaneNamespace));
  CHECK(weft::kProxyContainerName != weft::kInitContainerName);
}

TEST_CASE("label and annotation keys are qualified names", "[constants]") {
  const std::string_view keys[] = {
      weft::kInjectLabel,
      weft::kInjectAnnotation,
      weft::kProxyConfigHashAnnotation,
      weft::kManagedByLabel,
      weft::kComponentLabel,
      weft::kSkipInboundPortsAnnotation,
      weft::kSkipOutboundPortsAnnotation,
      weft::kSkipSubnetsAnnotation,
      weft::kOpaquePortsAnnotation,
      weft::kProxyCpuRequestAnnotation,
      weft::kProxyCpuLimitAnnotation,
      weft::kProxyMemoryRequestAnnotation,
      weft::kProxyMemoryLimitAnnotation,
      weft::kLogLevelAnnotation,
      weft::kInjectedAnnotation,
      weft::kSidecarModeAnnotation,
      weft::kProxyVersionAnnotation,
  };
  for (const auto key : keys) {
    INFO(key);
    CHECK(is_qualified_name(key));
  }
}

TEST_CASE("per-pod knobs live under the config prefix", "[constants]") {
  // The webhook recognises a knob by this prefix and refuses unknown ones under
  // it, so every knob must start with it, and prefix + knob must be a key.
  const std::string_view prefix = weft::kConfigAnnotationPrefix;
  REQUIRE(prefix.ends_with('/'));
  CHECK(is_dns_subdomain(prefix.substr(0, prefix.size() - 1)));
  CHECK(is_qualified_name(std::string(prefix) + "log-level"));
  const std::string_view knobs[] = {
      weft::kSkipInboundPortsAnnotation,   weft::kSkipOutboundPortsAnnotation,
      weft::kSkipSubnetsAnnotation,        weft::kOpaquePortsAnnotation,
      weft::kProxyCpuRequestAnnotation,    weft::kProxyCpuLimitAnnotation,
      weft::kProxyMemoryRequestAnnotation, weft::kProxyMemoryLimitAnnotation,
      weft::kLogLevelAnnotation,
  };
  for (const auto knob : knobs) {
    INFO(knob);
    CHECK(knob.starts_with(prefix));
  }
}

TEST_CASE("label values are valid and the inject values distinct", "[constants]") {
  // kInjectEnabled/kInjectDisabled are the namespace label's values;
  // kOperatorName is the value of the managed-by label.
  CHECK(is_label_value(weft::kInjectEnabled));
  CHECK(is_label_value(weft::kInjectDisabled));
  CHECK(is_label_value(weft::kOperatorName));
  CHECK_FALSE(weft::kInjectEnabled.empty());
  CHECK(weft::kInjectEnabled != weft::kInjectDisabled);
}

TEST_CASE("the proxy's environment names are the proxy's own variables", "[constants]") {
  // The proxy reads WEFT_PROXY_<FLAG> (settings_test checks it reads these);
  // here: each is a C identifier under that prefix, none repeated.
  static const std::regex c_identifier("[A-Za-z_][A-Za-z0-9_]*");
  const std::string_view names[] = {
      weft::kEnvPodName,     weft::kEnvPodNamespace, weft::kEnvServiceAccount,
      weft::kEnvPodIp,       weft::kEnvLogLevel,     weft::kEnvOpaquePorts,
      weft::kEnvInboundPort, weft::kEnvOutboundPort, weft::kEnvAdminPort,
  };
  std::set<std::string_view> seen;
  for (const auto name : names) {
    INFO(name);
    CHECK(name.starts_with("WEFT_PROXY_"));
    CHECK(std::regex_match(std::string(name), c_identifier));
    CHECK(seen.insert(name).second);
  }
}

TEST_CASE("proxy runs as a non-root UID on distinct ports", "[constants]") {
  CHECK(weft::kProxyUid != 0);
  for (auto port : {weft::kProxyOutboundPort, weft::kProxyInboundPort, weft::kProxyAdminPort}) {
    CHECK(port >= 1024);  // no privilege needed to bind
  }
}

TEST_CASE("mount paths are absolute and do not overlap", "[constants]") {
  const std::string config(weft::kProxyConfigMountPath);
  const std::string identity(weft::kIdentityMountPath);
  CHECK(config.starts_with('/'));
  CHECK(identity.starts_with('/'));
  CHECK_FALSE(config.starts_with(identity + "/"));
  CHECK_FALSE(identity.starts_with(config + "/"));
  CHECK(config != identity);
  // File names inside a mount are keys, not paths.
  CHECK(weft::kProxyConfigKey.find('/') == std::string_view::npos);
  CHECK(weft::kIdentityTokenFile.find('/') == std::string_view::npos);
  CHECK_FALSE(weft::kIdentityTokenAudience.empty());
}
