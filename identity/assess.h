#pragma once

// The facts the trust plan decides on, from the objects as read: each
// certificate parsed, each key checked against its certificate, and the
// issuer's chain tried for real (a throwaway leaf it signs is verified against
// the bundle and against its own ca.crt), so "chains to an anchor" means what
// a proxy will see.

#include <optional>
#include <string_view>

#include "identity/objects.h"
#include "identity/trust_plan.h"

namespace weft::identity {

std::optional<AnchorFacts> assess_anchor(const std::optional<StoredObject>& secret);
std::optional<BundleFacts> assess_bundle(const std::optional<StoredObject>& config_map);
std::optional<IssuerFacts> assess_issuer(const std::optional<StoredObject>& secret,
                                         const std::optional<BundleFacts>& bundle,
                                         std::string_view trust_domain, Clock::time_point now);

// The PEM text of a list of certificates (the bundle's ca-bundle.crt).
std::string join_certificates(const std::vector<std::string>& certificates);

}  // namespace weft::identity
