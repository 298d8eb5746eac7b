#include "weftctl/check/install_layout.h"

namespace weft::ctl {

const std::vector<std::string_view>& control_plane_deployments() {
  static const std::vector<std::string_view> kAll = {kOperatorDeployment, kWebhookDeployment,
                                                     kIdentityDeployment};
  return kAll;
}

const std::vector<ExpectedCrd>& expected_crds() {
  // test/unit/weftctl/check/install_layout_test.cpp compares this with crds/*.yaml.
  static const std::vector<ExpectedCrd> kAll = {
      {"meshroutes.weft.io", "v1alpha1", {"parentRefs", "rules"}},
      {"meshpolicies.weft.io",
       "v1alpha1",
       {"targetRef", "podSelector", "mtls", "authorization", "rateLimit", "circuitBreaker",
        "loadBalancer"}},
  };
  return kAll;
}

const std::vector<RequiredPermission>& install_permissions() {
  // The kinds of crds/ and manifests/; namespaced ones in weft-system.
  static const std::vector<RequiredPermission> kAll = {
      {"create", "apiextensions.k8s.io", "customresourcedefinitions", ""},
      {"create", "", "namespaces", ""},
      {"create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", ""},
      {"create", "rbac.authorization.k8s.io", "clusterroles", ""},
      {"create", "rbac.authorization.k8s.io", "clusterrolebindings", ""},
      {"create", "scheduling.k8s.io", "priorityclasses", ""},
      {"create", "apps", "deployments", "weft-system"},
      {"create", "", "serviceaccounts", "weft-system"},
      {"create", "", "services", "weft-system"},
      {"create", "", "configmaps", "weft-system"},
      {"create", "rbac.authorization.k8s.io", "roles", "weft-system"},
      {"create", "rbac.authorization.k8s.io", "rolebindings", "weft-system"},
      {"create", "policy", "poddisruptionbudgets", "weft-system"},
      {"create", "networking.k8s.io", "networkpolicies", "weft-system"},
  };
  return kAll;
}

}  // namespace weft::ctl
