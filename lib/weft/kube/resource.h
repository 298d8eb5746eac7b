#pragma once

// Addressing Kubernetes resources: which API group/version a resource lives
// in, whether it is namespaced, and the URL paths and query strings built
// from that. Pure functions, no I/O.
//
//   core, namespaced:    /api/v1/namespaces/{ns}/configmaps/{name}
//   grouped, namespaced: /apis/weft.io/v1alpha1/namespaces/{ns}/meshroutes/{name}/status
//   cluster-scoped:      /api/v1/namespaces/{name}
//   all namespaces:      /apis/discovery.k8s.io/v1/endpointslices

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/kube/error.h"

namespace weft::kube {

struct ResourceType {
  std::string group{};    // "" for the core group
  std::string version{};  // "v1", "v1alpha1"
  std::string kind{};     // "ConfigMap" (for apiVersion/kind of objects we build)
  std::string plural{};   // "configmaps" (the URL segment)
  bool namespaced = true;

  // "v1" for core, "weft.io/v1alpha1" otherwise: the objects' apiVersion.
  std::string api_version() const;
  // "/api/v1" or "/apis/weft.io/v1alpha1".
  std::string api_prefix() const;
};

// Resources Weft uses. Add more here rather than spelling them out at call sites.
namespace resources {
const ResourceType& namespaces();
const ResourceType& config_maps();
const ResourceType& secrets();
const ResourceType& services();
const ResourceType& service_accounts();
const ResourceType& pods();
const ResourceType& events();           // core/v1 Events
const ResourceType& endpoint_slices();  // discovery.k8s.io/v1
const ResourceType& leases();           // coordination.k8s.io/v1
const ResourceType& mesh_routes();      // weft.io/v1alpha1
const ResourceType& mesh_policies();    // weft.io/v1alpha1
// rbac.authorization.k8s.io/v1 (the cluster ones are cluster-scoped)
const ResourceType& roles();
const ResourceType& role_bindings();
const ResourceType& cluster_roles();
const ResourceType& cluster_role_bindings();
const ResourceType& deployments();                      // apps/v1
const ResourceType& custom_resource_definitions();      // apiextensions.k8s.io/v1
const ResourceType& mutating_webhook_configurations();  // admissionregistration.k8s.io/v1
}  // namespace resources

// The collection: ".../configmaps" in a namespace, or across all namespaces
// when `ns` is empty (list/watch). Fails for a namespace on a cluster-scoped
// resource, or a namespace that is not a DNS-1123 label.
Result<std::string> collection_path(const ResourceType& type, std::string_view ns);

// One object, optionally a subresource of it ("status", "scale", "token").
// A namespaced resource needs a namespace; names are checked for characters
// that cannot be in a path segment ("/", "%", "..", empty), so a name from
// untrusted input cannot address something else.
Result<std::string> object_path(const ResourceType& type, std::string_view ns,
                                std::string_view name, std::string_view subresource = {});

// Percent-encodes a query value (RFC 3986 unreserved characters kept).
std::string url_encode(std::string_view text);

// "?a=1&b=x%2Cy" from pairs in order, values encoded; "" when empty.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

// Name and namespace from an object's metadata ("" where absent).
std::string object_name(const nlohmann::json& object);
std::string object_namespace(const nlohmann::json& object);
std::string object_resource_version(const nlohmann::json& object);

}  // namespace weft::kube
