#pragma once

// The pure heart of the operator: from the cached objects of one namespace to
// its proxy configuration document, plus what was found about each MeshRoute
// and MeshPolicy on the way (missing parents and backends, conflicts), from
// which status.h derives their conditions. No I/O, no clock: same input, same
// output (tested without a server).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "operator/model.h"
#include "operator/trust_anchors.h"
#include "weft/proxyconfig/document.h"
#include "weft/proxyconfig/label_selector.h"

namespace weft::op {

// Everything reconcile reads for one namespace, from the caches.
struct NamespaceInput {
  std::string ns;
  std::shared_ptr<const NamespaceModel> namespace_object;  // null: not (or no longer) present
  std::vector<std::shared_ptr<const ServiceModel>> services;
  std::vector<std::shared_ptr<const EndpointSliceModel>> endpoint_slices;
  std::vector<std::shared_ptr<const PodModel>> pods;
  std::vector<std::shared_ptr<const MeshRouteModel>> routes;
  std::vector<std::shared_ptr<const MeshPolicyModel>> policies;
  // The trust bundle, shared by every namespace: configured, the document gets
  // `identity` and the endpoints of meshed pods their SPIFFE ID.
  IdentityState identity;
  // The meshed Services of the other namespaces (mesh_exports.h), listed in
  // the document when the identity is configured.
  std::vector<proxyconfig::MeshedService> other_namespaces{};
  // The operator's --default-inbound-policy; the Namespace's annotation overrides it.
  proxyconfig::DefaultInboundPolicy default_inbound_policy =
      proxyconfig::DefaultInboundPolicy::kAllUnauthenticated;

  // Labelled weft.io/inject=enabled, or running a pod that opted in by its
  // annotation (the webhook injected and sealed it): that pod's proxy needs a
  // document and the right to read it as much as in a labelled namespace.
  // Never kube-system or weft-system, which the webhook never injects.
  bool meshed() const;
};

struct RouteFindings {
  std::string invalid;                       // why the spec cannot be used
  std::vector<std::string> attached;         // "checkout:8080" ports the route took over
  std::vector<std::string> missing_parents;  // "checkout" or "checkout:8080"
  std::vector<std::string> missing_backends;
};

struct PolicyFindings {
  std::string invalid;
  std::string missing_target;          // "payments" or "payments:8443" when not found
  std::vector<std::string> conflicts;  // "loadBalancer for checkout:8080 (won by older-policy)"
  std::string note;                    // e.g. a targetRef Service without selector
};

struct BuiltConfig {
  proxyconfig::Document document;
  // Why the namespace's annotation was not used (an unknown word: deny instead).
  std::string default_inbound_policy_problem;
  std::map<std::string, RouteFindings> routes;     // by MeshRoute name
  std::map<std::string, PolicyFindings> policies;  // by MeshPolicy name
};

BuiltConfig build_config(const NamespaceInput& input);

// The ready endpoints of one Service port (docs/operator.md, "Ready endpoints"):
// endpoints whose `ready` condition is true (or unset); if none is, those still
// `serving` while terminating, so a rollout of the last pods does not black-hole
// traffic. Deduplicated by (address, port).
std::vector<proxyconfig::Endpoint> ready_endpoints(const ServiceModel& service,
                                                   const ServicePortModel& port,
                                                   const NamespaceInput& input);

// Whether pods carrying `labels` are selected by `selector` (one copy, shared
// with the proxy).
using proxyconfig::selector_matches;

}  // namespace weft::op
