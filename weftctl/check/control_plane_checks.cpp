// weft-control-plane: weft-system exists, each Deployment has all its pods
// ready, and they all run one version.

#include <string>

#include "weft/constants.h"
#include "weftctl/check/checks.h"
#include "weftctl/check/install_layout.h"
#include "weftctl/version/component_version.h"

namespace weft::ctl::check {

namespace {

constexpr std::string_view kCategory = "weft-control-plane";

// What a component's absence costs, for the hint.
std::string consequence(std::string_view deployment) {
  if (deployment == kWebhookDeployment) {
    return "while no replica answers, pods of meshed namespaces cannot be created "
           "(failurePolicy Fail)";
  }
  if (deployment == kIdentityDeployment) {
    return "while no replica answers, new proxies get no certificate and stay unready";
  }
  return "while no replica leads, route, policy and endpoint changes do not reach the proxies";
}

CheckResult deployment_ready(const std::string& category, std::string_view deployment,
                             const Answer& answer) {
  const std::string name(std::string(deployment) + " is ready");
  const std::string where = "kubectl -n weft-system";
  if (answer.not_found()) {
    return fail(category, name, "Deployment " + std::string(deployment) + " not found",
                "kubectl apply --server-side -f manifests/");
  }
  if (!answer.found()) return fail(category, name, "cannot read it: " + answer.describe(), "");
  const auto& body = answer.body;
  const int wanted = body.value("/spec/replicas"_json_pointer, 1);
  const int ready = body.value("/status/readyReplicas"_json_pointer, 0);
  const std::string counts = std::to_string(ready) + " of " + std::to_string(wanted) + " ready";
  if (wanted == 0) {
    return fail(category, name, "scaled to zero replicas: " + consequence(deployment),
                where + " scale deployment/" + std::string(deployment) + " --replicas=2");
  }
  if (ready == 0) {
    return fail(category, name, counts + ": " + consequence(deployment),
                where + " describe pods -l app.kubernetes.io/name=" + std::string(deployment) +
                    "; " + where + " logs deployment/" + std::string(deployment));
  }
  if (ready < wanted) {
    return warn(category, name, counts,
                where + " describe pods -l app.kubernetes.io/name=" + std::string(deployment));
  }
  return ok(category, name, counts);
}

}  // namespace

CheckResults check_control_plane(const Facts& facts) {
  const std::string category(kCategory);
  CheckResults results;
  const Answer& ns = facts.control_plane_namespace;
  if (!ns.found()) {
    results.push_back(fail(category, "the weft-system namespace exists",
                           ns.not_found() ? "not found" : ns.describe(),
                           "install Weft: docs/install.md (weftctl check --pre first)"));
    return results;
  }
  results.push_back(ok(category, "the weft-system namespace exists"));

  for (const std::string_view deployment : control_plane_deployments()) {
    const auto found = facts.deployments.find(std::string(deployment));
    results.push_back(deployment_ready(
        category, deployment, found != facts.deployments.end() ? found->second : Answer{}));
  }

  const auto versions = control_plane_versions(list_items(facts.control_plane_pods));
  const std::string name = "the control plane runs one version";
  if (versions.empty()) {
    results.push_back(warn(category, name, "no control-plane pod found",
                           "kubectl -n weft-system get pods -l " + std::string(kPartOfSelector)));
  } else if (versions.size() > 1) {
    std::string detail;
    for (const auto& [version, pods] : versions) {
      detail += (detail.empty() ? "" : "; ") + version + ":";
      for (const auto& pod : pods) detail += " " + pod;
    }
    results.push_back(warn(category, name, detail,
                           "an upgrade in progress, or one left half done: re-apply "
                           "manifests/ of one release"));
  } else {
    results.push_back(ok(category, name, versions.begin()->first));
  }
  return results;
}

}  // namespace weft::ctl::check
