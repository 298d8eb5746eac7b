#include "weft/kube/resource.h"

#include <fmt/format.h>

#include "weft/dns_name.h"

namespace weft::kube {

std::string ResourceType::api_version() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceType::api_prefix() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

namespace resources {
// Function-local statics: safe to use from other statics' initialisers.
const ResourceType& namespaces() {
  static const ResourceType t{"", "v1", "Namespace", "namespaces", false};
  return t;
}
const ResourceType& config_maps() {
  static const ResourceType t{"", "v1", "ConfigMap", "configmaps", true};
  return t;
}
const ResourceType& secrets() {
  static const ResourceType t{"", "v1", "Secret", "secrets", true};
  return t;
}
const ResourceType& services() {
  static const ResourceType t{"", "v1", "Service", "services", true};
  return t;
}
const ResourceType& service_accounts() {
  static const ResourceType t{"", "v1", "ServiceAccount", "serviceaccounts", true};
  return t;
}
const ResourceType& pods() {
  static const ResourceType t{"", "v1", "Pod", "pods", true};
  return t;
}
const ResourceType& events() {
  static const ResourceType t{"", "v1", "Event", "events", true};
  return t;
}
const ResourceType& endpoint_slices() {
  static const ResourceType t{"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true};
  return t;
}
const ResourceType& leases() {
  static const ResourceType t{"coordination.k8s.io", "v1", "Lease", "leases", true};
  return t;
}
const ResourceType& mesh_routes() {
  static const ResourceType t{"weft.io", "v1alpha1", "MeshRoute", "meshroutes", true};
  return t;
}
const ResourceType& mesh_policies() {
  static const ResourceType t{"weft.io", "v1alpha1", "MeshPolicy", "meshpolicies", true};
  return t;
}
const ResourceType& roles() {
  static const ResourceType t{"rbac.authorization.k8s.io", "v1", "Role", "roles", true};
  return t;
}
const ResourceType& role_bindings() {
  static const ResourceType t{"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings",
                              true};
  return t;
}
const ResourceType& cluster_roles() {
  static const ResourceType t{"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles",
                              false};
  return t;
}
const ResourceType& cluster_role_bindings() {
  static const ResourceType t{"rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
                              "clusterrolebindings", false};
  return t;
}
const ResourceType& deployments() {
  static const ResourceType t{"apps", "v1", "Deployment", "deployments", true};
  return t;
}
const ResourceType& custom_resource_definitions() {
  static const ResourceType t{"apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                              "customresourcedefinitions", false};
  return t;
}
const ResourceType& mutating_webhook_configurations() {
  static const ResourceType t{"admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
                              "mutatingwebhookconfigurations", false};
  return t;
}
}  // namespace resources

namespace {

// Object names vary by resource (DNS subdomain, path segment names for some);
// the apiserver validates them. Here only what would change the URL's meaning
// is refused.
bool is_path_segment(std::string_view text) {
  if (text.empty() || text == "." || text == "..") return false;
  for (unsigned char c : text) {
    if (c == '/' || c == '%' || c == '?' || c == '#' || c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

ApiError bad_request(std::string detail) {
  return make_error(ErrorKind::kBadRequest, "build request path", std::move(detail));
}

}  // namespace

Result<std::string> collection_path(const ResourceType& type, std::string_view ns) {
  if (type.plural.empty() || type.version.empty()) {
    return bad_request("resource type without plural or version");
  }
  if (ns.empty()) return type.api_prefix() + "/" + type.plural;
  if (!type.namespaced) {
    return bad_request(
        fmt::format("{} is cluster-scoped; namespace \"{}\" given", type.plural, ns));
  }
  if (!is_dns_label(ns)) {
    return bad_request(fmt::format("namespace \"{}\" is not a DNS-1123 label", ns));
  }
  return fmt::format("{}/namespaces/{}/{}", type.api_prefix(), ns, type.plural);
}

Result<std::string> object_path(const ResourceType& type, std::string_view ns,
                                std::string_view name, std::string_view subresource) {
  if (type.namespaced && ns.empty()) {
    return bad_request(
        fmt::format("{} is namespaced; no namespace given for \"{}\"", type.plural, name));
  }
  if (!is_path_segment(name)) {
    return bad_request(fmt::format("object name \"{}\" cannot be a URL path segment", name));
  }
  if (!subresource.empty() && !is_dns_label(subresource)) {
    return bad_request(fmt::format("subresource \"{}\" is not a valid name", subresource));
  }
  auto collection = collection_path(type, ns);
  if (!collection) return collection;
  std::string path = *collection + "/" + std::string(name);
  if (!subresource.empty()) path += "/" + std::string(subresource);
  return path;
}

std::string url_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    out += out.empty() ? '?' : '&';
    out += url_encode(key);
    out += '=';
    out += url_encode(value);
  }
  return out;
}

namespace {
std::string metadata_string(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return {};
  auto it = metadata->find(key);
  return it != metadata->end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

std::string object_name(const nlohmann::json& object) {
  return metadata_string(object, "name");
}
std::string object_namespace(const nlohmann::json& object) {
  return metadata_string(object, "namespace");
}
std::string object_resource_version(const nlohmann::json& object) {
  return metadata_string(object, "resourceVersion");
}

}  // namespace weft::kube
