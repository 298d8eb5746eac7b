#pragma once

// What `weftctl stat` and `diagnose` need of the API's Pods, Deployments and
// Services, read once from their JSON into plain structs. Pure.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "weft/proxyconfig/document.h"
#include "weft/result.h"

namespace weft::ctl::stat {

struct PodInfo {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> labels;
  std::string service_account;  // "default" when unset
  bool running = false;         // status.phase Running
  bool finished = false;        // status.phase Succeeded or Failed
  bool meshed = false;          // check::is_meshed_pod: a claim the webhook verified
  // The proxy's admin port, as the webhook injected it (check::proxy_admin_port).
  // Unset when the pod is not meshed.
  std::optional<std::uint16_t> admin_port;
};

PodInfo pod_info(const nlohmann::json& pod);

struct DeploymentInfo {
  std::string ns;
  std::string name;
  proxyconfig::LabelSelector selector;  // spec.selector
};

DeploymentInfo deployment_info(const nlohmann::json& deployment);

// A Service's name and its pod selector (spec.selector; empty: it selects no
// pod by itself, as Kubernetes reads it).
struct ServiceInfo {
  std::string ns;
  std::string name;
  std::map<std::string, std::string> selector;
};

ServiceInfo service_info(const nlohmann::json& service);

bool selects(const DeploymentInfo& deployment, const PodInfo& pod);
bool selects(const ServiceInfo& service, const PodInfo& pod);

// A resource as the user names it on the command line: "deploy/web",
// "svc/web", "pod/web-1", "ns/shop". Kinds are normalised to deploy, pod,
// svc, ns; kubectl's spellings (deployment, deployments, po, service...) are
// accepted.
struct ResourceRef {
  std::string kind;
  std::string name;
};

Result<std::string> normalise_kind(std::string_view kind);
Result<ResourceRef> parse_resource_ref(std::string_view text);

// The target_service labels' Service name: "web:80" -> "web"; "" for a
// label that names no Service of the namespace (an address, "other", or a
// Service of another namespace, "name.ns:port").
std::string service_of_target(std::string_view target_service);

}  // namespace weft::ctl::stat
