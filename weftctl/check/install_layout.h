#pragma once

// What a Weft install creates (crds/ and manifests/), as `weftctl check` and
// `weftctl version` look for it. Names already defined by the programs that
// own them (weft/constants.h, identity/objects.h, webhook/flags.h) are used
// from there; this adds only what no program needed before.

#include <string>
#include <string_view>
#include <vector>

namespace weft::ctl {

// The control plane's Deployments in weft-system, each with its
// app.kubernetes.io/name (the same as the Deployment's name).
inline constexpr std::string_view kOperatorDeployment = "weft-operator";
inline constexpr std::string_view kWebhookDeployment = "weft-webhook";
inline constexpr std::string_view kIdentityDeployment = "weft-identity";
const std::vector<std::string_view>& control_plane_deployments();

// The label every object of the install carries (manifests/).
inline constexpr std::string_view kPartOfSelector = "app.kubernetes.io/part-of=weft";

// A CRD of crds/: the version the operator reads (served and the storage
// version) and the top-level fields of its spec that the operator relies on.
struct ExpectedCrd {
  std::string name;     // meshroutes.weft.io
  std::string version;  // v1alpha1
  std::vector<std::string> spec_fields;
};
const std::vector<ExpectedCrd>& expected_crds();

// What `kubectl apply` of crds/ and manifests/ must be allowed to create:
// what `weftctl check --pre` asks a SelfSubjectAccessReview about.
struct RequiredPermission {
  std::string verb;
  std::string group;           // "" for the core group
  std::string resource;        // plural
  std::string namespace_name;  // "" for a cluster-scoped resource
};
const std::vector<RequiredPermission>& install_permissions();

}  // namespace weft::ctl
