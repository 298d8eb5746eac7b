#pragma once

// The controller's caches, one Store per watched kind (filled by the watches
// in controller.cpp, or directly by tests), and what one namespace's
// reconcile reads from them.

#include <string>

#include "operator/config_builder.h"
#include "operator/model.h"
#include "operator/store.h"
#include "operator/trust_anchors.h"
#include "weft/constants.h"
#include "weft/identity/spiffe_id.h"

namespace weft::op {

// The cached object of that namespace and name, or null.
template <typename T>
std::shared_ptr<const T> cached(const Store<T>& store, const std::string& ns,
                                std::string_view name) {
  const auto all = store.snapshot();
  const auto it = all->find(ObjectKey{ns, std::string(name)});
  return it == all->end() ? nullptr : it->second;
}

struct Caches {
  Store<NamespaceModel> namespaces;
  Store<ServiceModel> services;
  Store<EndpointSliceModel> endpoint_slices;
  Store<PodModel> pods;
  Store<MeshRouteModel> routes;
  Store<MeshPolicyModel> policies;
  // What the operator generated (watched by name and managed-by label).
  Store<ConfigMapModel> config_maps;
  Store<RbacModel> role_bindings;
  Store<ProxyHealthMapModel> proxy_health_maps;  // weft-proxy-health
  // The trust bundle (by name, in the control plane's namespace) and what makes
  // it an identity section; set before the watches start.
  Store<TrustAnchorsModel> trust_anchors;
  std::string control_plane_ns{kControlPlaneNamespace};
  std::string trust_domain{weft::identity::kDefaultTrustDomain};
  // The operator's --default-inbound-policy; set before the watches start.
  proxyconfig::DefaultInboundPolicy default_inbound_policy =
      proxyconfig::DefaultInboundPolicy::kAllUnauthenticated;

  // Whether (and why not) documents get an identity section.
  IdentityState identity() const {
    const auto anchors = cached(trust_anchors, control_plane_ns, kTrustAnchorsConfigMapName);
    return identity_state(anchors.get(), trust_domain, control_plane_ns);
  }

  // The inputs of one namespace's plan.
  NamespaceInput gather(const std::string& ns) const {
    NamespaceInput input;
    input.ns = ns;
    const auto all = namespaces.snapshot();
    if (auto it = all->find(ObjectKey{"", ns}); it != all->end())
      input.namespace_object = it->second;
    input.services = in_namespace<ServiceModel>(*services.snapshot(), ns);
    input.endpoint_slices = in_namespace<EndpointSliceModel>(*endpoint_slices.snapshot(), ns);
    input.pods = in_namespace<PodModel>(*pods.snapshot(), ns);
    input.routes = in_namespace<MeshRouteModel>(*routes.snapshot(), ns);
    input.policies = in_namespace<MeshPolicyModel>(*policies.snapshot(), ns);
    input.identity = identity();
    input.default_inbound_policy = default_inbound_policy;
    return input;
  }
};

}  // namespace weft::op
