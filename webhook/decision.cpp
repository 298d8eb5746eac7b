#include "webhook/decision.h"

#include <algorithm>
#include <cctype>

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
  // Before the opt-out and host network: a pod that claims the injection is
  // checked whatever else it says, so that `inject: disabled` cannot carry a
  // made-up weft-proxy that weftctl and the operator would take for the mesh's.
  if (claims_injected(pod)) return Decision{false, "already injected", true, ""};
  if (annotated && annotation->second == kInjectDisabled) {
    return Decision{false, "pod annotation " + std::string(kInjectAnnotation) + "=disabled", false,
                    "inject_disabled"};
  }
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

std::vector<std::string> network_admin_privileges(const ContainerView& container) {
  std::vector<std::string> found;
  if (container.privileged) found.emplace_back("privileged");
  for (const auto& written : container.added_capabilities) {
    // The runtimes upper-case a name by Unicode rules ("net_admın", with a
    // dotless i, becomes NET_ADMIN) and the API server does not check it: a
    // name that is not plain ASCII letters, digits and '_' is refused as if
    // it named what it may become.
    const bool plain = !written.empty() && std::all_of(written.begin(), written.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!plain) {
      found.push_back("'" + written + "' (not a plain capability name)");
      continue;
    }
    // The runtimes take "net_admin" and "CAP_NET_ADMIN" for NET_ADMIN.
    std::string name = written;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (name.starts_with("CAP_")) name.erase(0, 4);
    const bool dangerous =
        name == "NET_ADMIN" || name == "NET_RAW" || name == "SYS_ADMIN" || name == "ALL";
    if (dangerous && std::find(found.begin(), found.end(), name) == found.end()) {
      found.push_back(name);
    }
  }
  return found;
}

Result<std::vector<OptOut>> check_network_admin(const PodView& pod, std::string_view namespace_name,
                                                const InjectorConfig& config, ContainerSet which) {
  const auto& allowed = config.pod_network_admin_allowed_namespaces;
  const bool allow = std::any_of(allowed.begin(), allowed.end(), [&](const std::string& entry) {
    return entry == "*" || entry == namespace_name;
  });
  std::vector<OptOut> granted;
  for (const auto& container : pod.containers) {
    if (container.ephemeral != (which == ContainerSet::kEphemeral)) continue;
    if (which == ContainerSet::kInjectedPod &&
        (container.name == kInitContainerName || container.name == kProxyContainerName)) {
      continue;
    }
    const auto privileges = network_admin_privileges(container);
    if (privileges.empty()) continue;
    const std::string kind = container.ephemeral ? "ephemeral container '"
                             : container.init    ? "init container '"
                                                 : "container '";
    std::string what;
    for (const auto& privilege : privileges) {
      what += what.empty() ? "" : ",";
      what += privilege;
    }
    if (!allow) {
      const std::string& first = privileges.front();
      return Error{kind + container.name + "' " +
                   (first == "privileged"
                        ? std::string("is privileged (securityContext.privileged)")
                        : "adds the capability " + first) +
                   ", with which it can remove the pod's capture rules and bypass the proxy "
                   "unseen; drop it, or a cluster administrator can allow it in namespace " +
                   std::string(namespace_name) +
                   " with podNetworkAdminAllowedNamespaces in the webhook's configuration"};
    }
    granted.push_back({"network_admin", kind + container.name + "': " + what});
  }
  return granted;
}

}  // namespace weft::webhook
