// pre-install (--pre): may the user install Weft here, and is it not there yet.

#include <string>

#include "weftctl/check/checks.h"

namespace weft::ctl::check {

namespace {

constexpr std::string_view kCategory = "pre-install";

std::string describe(const AccessProbe& probe) {
  std::string text = probe.verb + " " + probe.resource;
  if (!probe.group.empty()) text += "." + probe.group;
  if (!probe.namespace_name.empty()) text += " in " + probe.namespace_name;
  return text;
}

}  // namespace

CheckResults check_install_permissions(const Facts& facts) {
  const std::string category(kCategory);
  CheckResults results;
  for (const AccessProbe& probe : facts.access) {
    const std::string name = "can " + describe(probe);
    if (!probe.review.found()) {
      results.push_back(fail(category, name,
                             "SelfSubjectAccessReview failed: " + probe.review.describe(),
                             "the API server must answer SelfSubjectAccessReviews "
                             "(authorization.k8s.io/v1)"));
      continue;
    }
    const auto& status = probe.review.body.value("status", nlohmann::json::object());
    if (status.value("allowed", false)) {
      results.push_back(ok(category, name));
      continue;
    }
    std::string detail = "not allowed";
    if (const std::string reason = status.value("reason", ""); !reason.empty()) {
      detail += ": " + reason;
    }
    results.push_back(fail(category, name, detail,
                           "install Weft as a cluster administrator (its install creates "
                           "cluster-wide objects: CRDs, a webhook configuration, RBAC)"));
  }

  const std::string name = "weft-system does not exist yet";
  const Answer& ns = facts.control_plane_namespace;
  if (ns.not_found()) {
    results.push_back(ok(category, name));
  } else if (ns.found()) {
    results.push_back(warn(category, name, "namespace weft-system exists: Weft may be installed",
                           "to check an install, run weftctl check without --pre; to upgrade, "
                           "re-apply crds/ and manifests/ (docs/install.md)"));
  } else {
    results.push_back(
        warn(category, name, "cannot tell: " + ns.describe(), "kubectl get namespace weft-system"));
  }
  return results;
}

}  // namespace weft::ctl::check
