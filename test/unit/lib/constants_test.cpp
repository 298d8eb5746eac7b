#include "weft/constants.h"

#include <catch2/catch.hpp>
#include <regex>
#include <string>

// These names end up in Kubernetes objects; a bad edit here would only show as
// an API server rejection at install or injection time, so check the rules now.

namespace {

// RFC 1123 label: what Kubernetes requires of container, ConfigMap and namespace names.
bool is_dns_label(std::string_view name) {
  static const std::regex dns_label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return name.size() <= 63 && std::regex_match(std::string(name), dns_label);
}

}  // namespace

TEST_CASE("object names are valid DNS labels", "[constants]") {
  CHECK(is_dns_label(weft::kProxyContainerName));
  CHECK(is_dns_label(weft::kInitContainerName));
  CHECK(is_dns_label(weft::kProxyConfigMapName));
  CHECK(is_dns_label(weft::kControlPlaneNamespace));
  CHECK(weft::kProxyContainerName != weft::kInitContainerName);
}

TEST_CASE("label and annotation keys are qualified names", "[constants]") {
  CHECK(weft::kInjectLabel == "weft.io/inject");
  CHECK(weft::kInjectAnnotation == weft::kInjectLabel);
  CHECK(weft::kInjectEnabled == "enabled");
  CHECK(weft::kInjectDisabled == "disabled");
  // The prefix is joined directly with a knob name: it must end with the slash.
  CHECK(weft::kConfigAnnotationPrefix == "config.weft.io/");
  // Both are also label values (the namespace label), which have their own syntax.
  const std::regex label_value("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  CHECK(std::regex_match(std::string(weft::kInjectEnabled), label_value));
  CHECK(std::regex_match(std::string(weft::kInjectDisabled), label_value));
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
