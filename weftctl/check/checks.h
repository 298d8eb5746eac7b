#pragma once

// The checks of `weftctl check`: pure functions from the gathered facts
// (facts.h) to results, one category each, in the order they are shown.

#include <chrono>

#include "weftctl/check/check_result.h"
#include "weftctl/check/facts.h"

namespace weft::ctl::check {

struct Thresholds {
  // The trust anchors and an issuer Weft does not renew itself: a warning
  // when one expires sooner (--min-certificate-validity).
  std::chrono::seconds min_certificate_validity{std::chrono::hours(24 * 60)};
};

// kubernetes-api: reachable, and a version Weft supports.
CheckResults check_kubernetes_api(const Facts& facts);
// pre-install: may the user create what the install creates; weft-system absent.
CheckResults check_install_permissions(const Facts& facts);
// weft-crds: each CRD established, at the expected version, with its fields.
CheckResults check_crds(const Facts& facts);
// weft-control-plane: weft-system, its Deployments' pods ready, one version.
CheckResults check_control_plane(const Facts& facts);
// weft-webhook: registered, caBundle verifying the serving certificate, its
// names and remaining validity.
CheckResults check_webhook(const Facts& facts);
// weft-identity: the trust anchors and the issuer valid, the issuer signed by
// an anchor.
CheckResults check_identity(const Facts& facts, const Thresholds& thresholds);
// weft-data-plane: each meshed namespace's ConfigMap, each meshed pod's proxy.
CheckResults check_data_plane(const Facts& facts);

// Every category for the mode. When the API server cannot be reached, only
// that is reported (everything else would fail for the same reason).
CheckResults run_checks(const Facts& facts, const Thresholds& thresholds);

}  // namespace weft::ctl::check
