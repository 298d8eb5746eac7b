#pragma once

// Telling a meshed pod (one the webhook injected) and where its proxy's admin
// port is, from the Pod object alone.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace weft::ctl::check {

// What the pod says of itself: the injection seal annotation and a weft-proxy
// container (a native sidecar among the init containers, or a classic one
// among the containers). Anyone who can create a pod can say it.
bool claims_injection(const nlohmann::json& pod);

// The webhook reviews, at creation, every pod that claims the injection
// (manifests/webhook.yaml: both registrations' matchConditions send a pod with
// a weft-init or weft-proxy container or the seal, whatever its weft.io/inject
// says), in every namespace but kube-system and weft-system.
bool webhook_reviews_claim(const nlohmann::json& pod);

// Meshed as the webhook made it: the pod claims injection and the webhook
// reviewed it, which admits such a claim only if the seal verifies
// (Injector::verify_injected). A claim outside its review is unverified:
// weftctl never asks such a pod's "proxy" anything nor counts it.
bool is_meshed_pod(const nlohmann::json& pod);

// The names of the namespaces in a list of namespaces (labelled weft.io/inject=enabled).
std::set<std::string> namespace_names(const nlohmann::json& namespace_items);

// The namespaces whose proxies need a document: those labelled for the mesh, and
// those of meshed pods (a pod opted in by annotation in an unlabelled one).
std::set<std::string> namespaces_with_proxies(const nlohmann::json& namespace_items,
                                              const nlohmann::json& pod_items);

// Worth asking its /version: Running and not being deleted (a terminating
// pod's proxy drains and may stop answering).
bool is_serving_pod(const nlohmann::json& pod);

// The weft-proxy container's admin port as the injection set it: its
// WEFT_PROXY_ADMIN_PORT variable (covered by the seal), else the default. Never
// a declared port, which the seal does not cover and a pod's author may rename.
std::uint16_t proxy_admin_port(const nlohmann::json& pod);

// The API server's pod proxy path to the proxy's /version (never the pod's IP:
// the API server reaches it, whatever the network between).
std::string proxy_version_path(const std::string& namespace_name, const std::string& pod,
                               std::uint16_t admin_port);

}  // namespace weft::ctl::check
