#pragma once

// Whether a pod gets the proxy. A pure function of the pod, its namespace and
// which registration sent the review (see docs/webhook.md, "Which pods").

#include <string>
#include <string_view>

#include "webhook/config.h"
#include "webhook/pod.h"
#include "weft/result.h"

namespace weft::webhook {

// Which of the two webhook registrations called: the one whose namespaceSelector
// matches namespaces labelled weft.io/inject=enabled (path /mutate), or the one
// for pods annotated weft.io/inject: enabled in other namespaces (a CEL
// matchCondition; path /mutate-opt-in). The API server does the selecting; this
// says what it selected, since a review does not carry the namespace's labels.
enum class Scope { kNamespaceEnabled, kPodOptIn };

struct Decision {
  bool inject = false;
  std::string reason;  // why, for the log and the skip metric
  // The pod claims to be injected already (claims_injected): the injector
  // verifies the claim before allowing it unchanged.
  bool claims_injected = false;
  // The pod is left out of the mesh by its own choice (an opt-out, counted):
  // inject_disabled or host_network; empty otherwise.
  std::string opt_out;
};

// kube-system and weft-system: never injected, and never denied either.
bool is_system_namespace(std::string_view namespace_name);

// An Error is a pod we were asked to decide on but cannot: an inject annotation
// other than enabled/disabled. The caller denies it with that message.
Result<Decision> decide(const PodView& pod, std::string_view namespace_name, Scope scope);

// Which containers of a pod check_network_admin looks at.
enum class ContainerSet {
  kPod,          // containers and init containers (a CREATE to inject)
  kInjectedPod,  // the same but the verified weft-init and weft-proxy
  kEphemeral,    // ephemeral containers (an UPDATE of pods/ephemeralcontainers)
};

// What lets a container rewrite the capture rules of the pod's network
// namespace (it shares it with weft-init's iptables rules) or send past them:
// securityContext.privileged, or capabilities.add holding NET_ADMIN, NET_RAW,
// SYS_ADMIN or ALL (any case, with or without CAP_). Empty when none; else, in
// the container's order, e.g. {"privileged", "NET_ADMIN"}.
std::vector<std::string> network_admin_privileges(const ContainerView& container);

// For a meshed pod in `namespace_name`: an Error naming the first container of
// `which` with such privileges, what they are and how to allow them, unless the
// configuration's podNetworkAdminAllowedNamespaces lists the namespace (or
// "*"); then one "network_admin" OptOut per such container, to be counted and
// logged like the other opt-outs.
Result<std::vector<OptOut>> check_network_admin(const PodView& pod, std::string_view namespace_name,
                                                const InjectorConfig& config, ContainerSet which);

}  // namespace weft::webhook
