#pragma once

// The objects weft-identity keeps in its namespace, as plain values: read from
// the API server's JSON (pure, so a corrupted object is described, never
// thrown on) and written back as JSON.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace weft::identity {

inline constexpr std::string_view kAnchorSecret = "weft-identity-trust-anchor";
inline constexpr std::string_view kIssuerSecret = "weft-identity-issuer";
inline constexpr std::string_view kBundleConfigMap = "weft-identity-trust-anchors";
inline constexpr std::string_view kBundleKey = "ca-bundle.crt";
// kubernetes.io/tls Secrets: what cert-manager writes.
inline constexpr std::string_view kTlsSecretType = "kubernetes.io/tls";
inline constexpr std::string_view kCertKey = "tls.crt";
inline constexpr std::string_view kKeyKey = "tls.key";
inline constexpr std::string_view kCaKey = "ca.crt";
// Objects Weft made carry this label; only those may Weft ever change.
inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "weft-identity";

// A Secret or ConfigMap as read: its text values (Secret data decoded).
struct StoredObject {
  std::string resource_version;
  bool managed = false;  // carries the managed-by label of weft-identity
  std::map<std::string, std::string> data;
  // Not empty: the object cannot be read as what it should be (a value that is
  // not base64, a data field that is not a map...); says what.
  std::string problem;

  // The value of a key, or "" when absent.
  std::string value(std::string_view key) const;
};

// From a Secret (data: base64) or a ConfigMap (data: text).
StoredObject read_secret(const nlohmann::json& secret);
StoredObject read_config_map(const nlohmann::json& config_map);

// New objects, labelled as Weft's. A Secret is of type kubernetes.io/tls.
nlohmann::json make_secret(std::string_view ns, std::string_view name,
                           const std::map<std::string, std::string>& data);
nlohmann::json make_config_map(std::string_view ns, std::string_view name,
                               const std::map<std::string, std::string>& data);

}  // namespace weft::identity
