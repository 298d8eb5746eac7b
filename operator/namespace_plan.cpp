#include "operator/namespace_plan.h"

#include <fmt/format.h>

#include "weft/constants.h"

namespace weft::op {
using nlohmann::json;

json generated_metadata(const NamespaceModel& ns, std::string_view name) {
  return {{"name", name},
          {"namespace", ns.meta.name},
          {"labels", {{kManagedByLabel, kOperatorName}}},
          {"ownerReferences", json::array({{{"apiVersion", "v1"},
                                            {"kind", "Namespace"},
                                            {"name", ns.meta.name},
                                            {"uid", ns.meta.uid}}})}};
}

NamespacePlan plan_namespace(const NamespaceInput& input, const std::string& now) {
  NamespacePlan plan;
  plan.meshed = input.meshed();
  BuiltConfig built = build_config(input);
  if (plan.meshed) plan.default_inbound_policy_problem = built.default_inbound_policy_problem;
  Programming programming = Programming::kNotMeshed;
  if (plan.meshed) {
    auto serialized = proxyconfig::serialize(built.document);
    const auto fits = [](const proxyconfig::SerializedDocument& document) {
      return document.text.size() + kProxyConfigKey.size() <= kProxyConfigMaxBytes;
    };
    if (!fits(serialized) && !built.document.outbound.other_namespaces.empty()) {
      // The namespace's own Services first: without the others', mTLS to
      // them falls back to plaintext, but routing here keeps working.
      built.document.outbound.other_namespaces.clear();
      serialized = proxyconfig::serialize(built.document);
      plan.other_namespaces_dropped = true;
    }
    // The apiserver counts keys and values of data against the limit.
    plan.config_bytes = serialized.text.size();
    if (!fits(serialized)) {
      plan.too_large = true;
      plan.too_large_message = fmt::format(
          "the proxy configuration of namespace {} is {} bytes, over the ConfigMap limit of {} "
          "bytes; the previous configuration stays in place",
          input.ns, serialized.text.size(), kProxyConfigMaxBytes);
      programming = Programming::kTooLarge;
    } else {
      plan.config = std::move(serialized);
      programming = Programming::kProgrammed;
    }
  }
  plan.status = plan_statuses(input, built, programming, plan.too_large_message, now);
  return plan;
}

json desired_config_map(const NamespaceModel& ns, const proxyconfig::SerializedDocument& config) {
  json object = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", generated_metadata(ns, kProxyConfigMapName)},
                 {"data", {{kProxyConfigKey, config.text}}}};
  object["metadata"]["annotations"] = {{kProxyConfigHashAnnotation, config.hash}};
  return object;
}

json desired_role_binding(const NamespaceModel& ns) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "RoleBinding"},
          {"metadata", generated_metadata(ns, kProxyConfigReaderName)},
          {"roleRef",
           {{"apiGroup", "rbac.authorization.k8s.io"},
            {"kind", "ClusterRole"},
            {"name", kProxyConfigReaderName}}},
          {"subjects", json::array({{{"apiGroup", "rbac.authorization.k8s.io"},
                                     {"kind", "Group"},
                                     {"name", "system:serviceaccounts:" + ns.meta.name}}})}};
}

const kube::ResourceType& role_bindings() {
  static const kube::ResourceType type{"rbac.authorization.k8s.io", "v1", "RoleBinding",
                                       "rolebindings", true};
  return type;
}

}  // namespace weft::op
