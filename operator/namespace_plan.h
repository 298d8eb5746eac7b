#pragma once

// One namespace's desired state, computed purely from its cached objects: the
// serialized proxy configuration (or why there is none), the status of each
// MeshRoute and MeshPolicy, the Events to raise, and the objects to apply
// (ConfigMap, RoleBinding). controller.h applies it.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "operator/config_builder.h"
#include "operator/status.h"
#include "weft/kube/resource.h"
#include "weft/proxyconfig/serialize.h"

namespace weft::op {

struct NamespacePlan {
  bool meshed = false;
  // Set when the namespace is meshed and the document fits in a ConfigMap.
  std::optional<proxyconfig::SerializedDocument> config;
  std::size_t config_bytes = 0;  // size of the serialized document (even when too large)
  bool too_large = false;
  // The document fits only without the other namespaces' Services (their
  // callers here then use plaintext): written so, and said in the log.
  bool other_namespaces_dropped = false;
  std::string too_large_message;
  // The Namespace's default-inbound-policy annotation holds an unknown word;
  // the document says deny (fail closed). A Warning Event and a log line.
  std::string default_inbound_policy_problem;
  StatusPlan status;
};

// now: RFC 3339 time used for condition transitions.
NamespacePlan plan_namespace(const NamespaceInput& input, const std::string& now);

// The RoleBinding (every service account of the namespace) that lets the
// namespace's proxies read their config, through the bundle's ClusterRole of
// the same name (get/list/watch of exactly the ConfigMap weft-proxy-config).
// The operator may bind that ClusterRole and no other (manifests/operator.yaml):
// it creates no Roles, so it cannot write a grant of its own.
inline constexpr std::string_view kProxyConfigReaderName = "weft-proxy-config-reader";

// Objects for server-side apply, owned by the Namespace (so they go with it)
// and labelled managed-by weft-operator.
nlohmann::json generated_metadata(const NamespaceModel& ns, std::string_view name);
nlohmann::json desired_config_map(const NamespaceModel& ns,
                                  const proxyconfig::SerializedDocument& config);
nlohmann::json desired_role_binding(const NamespaceModel& ns);

// kube::resources has no RBAC types; only the operator uses this one.
const kube::ResourceType& role_bindings();

}  // namespace weft::op
