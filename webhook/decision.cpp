#include "webhook/decision.h"

#include "weft/constants.h"

namespace weft::webhook {

bool is_system_namespace(std::string_view namespace_name) {
  return namespace_name == "kube-system" || namespace_name == kControlPlaneNamespace;
}

Result<Decision> decide(const PodView& pod, std::string_view namespace_name, Scope scope) {
  // The system namespaces first: nothing a pod says can opt them in.
  if (is_system_namespace(namespace_name)) {
    return Decision{false, "namespace " + std::string(namespace_name) + " is never injected", false,
                    ""};
  }
  const auto annotation = pod.annotations.find(kInjectAnnotation);
  const bool annotated = annotation != pod.annotations.end();
  if (annotated && annotation->second != kInjectEnabled && annotation->second != kInjectDisabled) {
    return Error{"annotation " + std::string(kInjectAnnotation) + " must be '" +
                 std::string(kInjectEnabled) + "' or '" + std::string(kInjectDisabled) +
                 "', not '" + annotation->second + "'"};
  }
  if (annotated && annotation->second == kInjectDisabled) {
    return Decision{false, "pod annotation " + std::string(kInjectAnnotation) + "=disabled", false,
                    "inject_disabled"};
  }
  // Before host network: an injected pod is left alone whatever else it says.
  if (claims_injected(pod)) return Decision{false, "already injected", true, ""};
  if (pod.host_network) {
    return Decision{false, "host-network pod (its traffic is the node's; capture would take it)",
                    false, "host_network"};
  }
  if (scope == Scope::kNamespaceEnabled) {
    return Decision{true, "namespace " + std::string(kInjectLabel) + "=enabled", false, ""};
  }
  if (annotated)
    return Decision{true, "pod annotation " + std::string(kInjectAnnotation) + "=enabled", false,
                    ""};
  return Decision{false, "neither the namespace nor the pod opted in", false, ""};
}

}  // namespace weft::webhook
