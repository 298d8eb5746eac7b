#include "operator/trust_anchors.h"

#include <fmt/format.h>

#include "weft/constants.h"
#include "weft/identity/spiffe_id.h"
#include "weft/proxyconfig/parse.h"

namespace weft::op {

std::string_view to_string(IdentityStatus status) {
  switch (status) {
    case IdentityStatus::kConfigured:
      return "configured";
    case IdentityStatus::kMissing:
      return "missing";
    case IdentityStatus::kInvalid:
      return "invalid";
  }
  return "invalid";
}

IdentityState identity_state(const TrustAnchorsModel* anchors, std::string_view trust_domain,
                             std::string_view control_plane_ns) {
  IdentityState state;
  const std::string where =
      fmt::format("ConfigMap {}/{}", control_plane_ns, kTrustAnchorsConfigMapName);
  if (!anchors) {
    state.problem =
        fmt::format("no trust anchors: {} does not exist (weft-identity publishes it)", where);
    return state;
  }
  if (!anchors->bundle) {
    state.problem = fmt::format("no trust anchors: {} has no key {}", where, kTrustAnchorsKey);
    return state;
  }
  proxyconfig::IdentityConfig config{std::string(trust_domain), *anchors->bundle};
  // The same checks the proxies' parser applies: a bundle they would refuse
  // must not reach (and break) every document.
  if (auto error = proxyconfig::check_identity(config)) {
    state.status = IdentityStatus::kInvalid;
    state.problem = fmt::format("trust anchors unusable: {} key {}: {}", where, kTrustAnchorsKey,
                                error->message);
    return state;
  }
  state.status = IdentityStatus::kConfigured;
  state.config = std::move(config);
  return state;
}

std::string spiffe_id(std::string_view trust_domain, std::string_view ns,
                      std::string_view service_account) {
  // The API server takes ServiceAccount names that no SPIFFE ID of ours can
  // carry (a label over 63 characters): weft-identity issues no certificate
  // for them, so such a pod is reached in plaintext, like an unmeshed one,
  // and its name never reaches a document that every proxy would refuse.
  auto identity = identity::make_identity(trust_domain, ns, service_account);
  return identity ? identity->uri() : std::string();
}

}  // namespace weft::op
