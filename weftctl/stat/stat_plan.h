#pragma once

// Which proxies `weftctl stat` scrapes and which row each of their series
// counts for, decided from what the API listed. Pure.
//
//   stat deploy|pod|ns [NAME]   each resource's pods' inbound series: what
//                               the resource served, as its own proxies saw it
//   ... --to RES                the resources' pods' outbound series towards
//                               RES's Services: what they got from RES
//   ... --from RES              RES's pods' outbound series towards the
//                               Services of each resource: what RES got from it
//   stat route [NAME]           the outbound series with a route label, by
//                               Service port and MeshRoute (rule and backend
//                               when the series carry them), with each
//                               backend's configured weight from the document

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/proxyconfig/document.h"
#include "weft/result.h"
#include "weftctl/stat/traffic_window.h"
#include "weftctl/stat/workloads.h"

namespace weft::ctl::stat {

enum class StatKind { kDeploy, kPod, kNamespace, kRoute };

struct StatRequest {
  StatKind kind = StatKind::kDeploy;
  std::string name;  // "" every resource of the kind
  std::string ns;    // the namespace (ignored with all_namespaces)
  bool all_namespaces = false;
  std::optional<ResourceRef> from;
  std::optional<ResourceRef> to;
};

// What the API listed in the namespace (or all of them with -A).
struct Inventory {
  std::vector<PodInfo> pods;
  std::vector<DeploymentInfo> deployments;
  std::vector<ServiceInfo> services;
  // Each namespace's document (stat route only), when readable.
  std::map<std::string, proxyconfig::Document> documents;
};

// One row of the output, before its traffic is known.
struct RowSpec {
  std::string key;  // what SeriesGroup returns for this row
  std::string ns;
  std::string name;  // deploy/pod/ns: the resource; route: the MeshRoute
  int pods = 0;      // pods of the resource (deploy, pod, ns)
  int meshed = 0;    // of which meshed and running
  // stat route: the Service port ("web:80"), the rule and backend, the
  // backend's weight and share of its rule's weights.
  std::string service;
  std::optional<std::uint32_t> rule;
  std::string backend;
  std::optional<std::uint32_t> weight;
  std::optional<double> weight_share;
};

struct StatPlan {
  std::vector<RowSpec> rows;          // in output order
  std::vector<PodInfo> scrape;        // meshed, running, with an admin port
  std::vector<std::string> warnings;  // meshed pods left out, and why
  SeriesGroup group;                  // pods named "ns/name"
};

Result<StatPlan> plan_stat(const StatRequest& request, const Inventory& inventory);

// "ns/name": how scrapes name a pod.
std::string pod_key(const PodInfo& pod);

// After the scrapes: route rows that the series found and the document did
// not name (a route removed during the window, a rule index past the
// document's) are added, so no traffic is hidden.
void add_rows_found(StatPlan& plan, const std::map<std::string, Traffic>& traffic);

}  // namespace weft::ctl::stat
