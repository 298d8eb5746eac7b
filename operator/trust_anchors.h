#pragma once

// Whether the namespaces' proxy documents get an `identity` section: the trust
// bundle weft-identity publishes (ConfigMap weft-identity-trust-anchors in the
// control plane's namespace, key ca-bundle.crt), checked the way the document's
// parser will check it. Absent or unusable: no identity section, the mesh runs
// in plaintext, and `problem` says why (status, log, metric). Pure.

#include <optional>
#include <string>
#include <string_view>

#include "operator/model.h"
#include "weft/proxyconfig/document.h"

namespace weft::op {

enum class IdentityStatus { kConfigured, kMissing, kInvalid };
std::string_view to_string(IdentityStatus status);  // "configured", "missing", "invalid"

struct IdentityState {
  IdentityStatus status = IdentityStatus::kMissing;
  std::optional<proxyconfig::IdentityConfig> config;  // set when configured
  std::string problem;                                // when not configured: why, in a sentence
  bool operator==(const IdentityState&) const = default;
};

// anchors: the cached ConfigMap, or null when there is none. control_plane_ns
// only names it in `problem`.
IdentityState identity_state(const TrustAnchorsModel* anchors, std::string_view trust_domain,
                             std::string_view control_plane_ns);

// The SPIFFE ID of a ServiceAccount: spiffe://<trust domain>/ns/<ns>/sa/<account>;
// empty when the names make no valid one (weft-identity would issue none).
std::string spiffe_id(std::string_view trust_domain, std::string_view ns,
                      std::string_view service_account);

}  // namespace weft::op
