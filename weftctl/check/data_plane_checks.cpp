// weft-data-plane: every meshed namespace has its proxy configuration, within
// the ConfigMap limit; every meshed pod's proxy answers, runs the control
// plane's version and serves its namespace's current document.

#include <map>
#include <string>

#include "weft/constants.h"
#include "weftctl/check/checks.h"
#include "weftctl/check/meshed_pod.h"
#include "weftctl/version/component_version.h"

namespace weft::ctl::check {

namespace {

constexpr std::string_view kCategory = "weft-data-plane";
const std::string kHashPointer = "/metadata/annotations/weft.io~1config-hash";
// Listing every stale pod of a large mesh helps nobody: the first ones and a count.
constexpr std::size_t kPodsNamed = 10;

void append_listed(std::string& text, std::size_t& count, const std::string& item) {
  if (count < kPodsNamed) text += (text.empty() ? "" : "; ") + item;
  ++count;
}

std::string listed(const std::string& text, std::size_t count) {
  if (count <= kPodsNamed) return text;
  return text + "; and " + std::to_string(count - kPodsNamed) + " more";
}

}  // namespace

CheckResults check_data_plane(const Facts& facts) {
  const std::string category(kCategory);
  CheckResults results;

  // namespace -> the hash of its current document
  std::map<std::string, std::string> current_hash;
  if (!facts.meshed_namespaces.found()) {
    results.push_back(fail(category, "meshed namespaces can be listed",
                           facts.meshed_namespaces.describe(),
                           "weftctl check needs list on namespaces"));
  }
  for (const std::string& name :
       namespaces_with_proxies(list_items(facts.meshed_namespaces), list_items(facts.pods))) {
    const std::string check_name = "namespace " + name + " has its proxy configuration";
    const auto found = facts.proxy_config_maps.find(name);
    const Answer answer = found != facts.proxy_config_maps.end() ? found->second : Answer{};
    const std::string operator_hint =
        "the operator writes it: kubectl -n weft-system logs deployment/weft-operator; kubectl "
        "get events -n " +
        name + " --field-selector involvedObject.kind=Namespace";
    if (!answer.found()) {
      results.push_back(fail(category, check_name,
                             "ConfigMap " + std::string(kProxyConfigMapName) + ": " +
                                 (answer.not_found() ? "not found" : answer.describe()),
                             operator_hint));
      continue;
    }
    const std::string document = text_at(answer.body, "/data/" + std::string(kProxyConfigKey));
    const std::string hash = text_at(answer.body, kHashPointer);
    if (document.size() > kProxyConfigMaxBytes) {
      results.push_back(fail(category, check_name,
                             std::to_string(document.size()) + " bytes, above the limit of " +
                                 std::to_string(kProxyConfigMaxBytes),
                             "docs/operator.md, \"The 1 MiB limit, and sharding\""));
      continue;
    }
    if (document.empty() || hash.empty()) {
      results.push_back(fail(category, check_name,
                             document.empty() ? "no " + std::string(kProxyConfigKey)
                                              : "no weft.io/config-hash annotation",
                             operator_hint));
      continue;
    }
    current_hash[name] = hash;
    results.push_back(ok(category, check_name,
                         std::to_string(document.size()) + " of " +
                             std::to_string(kProxyConfigMaxBytes) + " bytes, " + hash));
  }

  const auto versions = control_plane_versions(list_items(facts.control_plane_pods));
  const std::string expected_version = versions.size() == 1 ? versions.begin()->first : "";

  std::size_t meshed = 0;
  std::size_t not_running = 0;
  std::string unanswered;
  std::size_t unanswered_count = 0;
  std::string outdated;
  std::size_t outdated_count = 0;
  std::string stale;
  std::size_t stale_count = 0;
  std::map<std::string, const ProxyProbe*> probes;
  for (const auto& probe : facts.proxies) probes[probe.namespace_name + "/" + probe.pod] = &probe;

  std::string unreviewed;
  std::size_t unreviewed_count = 0;
  for (const auto& pod : list_items(facts.pods)) {
    if (!claims_injection(pod)) continue;
    if (!webhook_reviews_claim(pod)) {
      append_listed(unreviewed, unreviewed_count,
                    text_at(pod, "/metadata/namespace") + "/" + text_at(pod, "/metadata/name"));
      continue;
    }
    ++meshed;
    const std::string ns = text_at(pod, "/metadata/namespace");
    const std::string key = ns + "/" + text_at(pod, "/metadata/name");
    const auto probe = probes.find(key);
    if (probe == probes.end()) {
      ++not_running;  // the gatherer asks only running pods, not terminating ones
      continue;
    }
    const Answer& answer = probe->second->version;
    if (!answer.found() || !answer.body.is_object()) {
      append_listed(unanswered, unanswered_count, key + ": " + answer.describe());
      continue;
    }
    // A pod's answer is the pod's to shape: read by type, never assumed.
    const std::string version = text_at(answer.body, "/version");
    if (!expected_version.empty() && version != expected_version) {
      append_listed(outdated, outdated_count, key + " runs " + version);
    }
    const auto hash = current_hash.find(ns);
    if (hash == current_hash.end()) continue;  // no document to compare with
    const std::string served_hash = text_at(answer.body, "/configHash");
    if (served_hash != hash->second) {
      append_listed(stale, stale_count,
                    key + " serves " + (served_hash.empty() ? "no document" : served_hash));
    }
  }

  const std::string counted = std::to_string(meshed) + " meshed pod(s)" +
                              (not_running > 0 ? ", " + std::to_string(not_running) +
                                                     " not running or terminating (not asked)"
                                               : "");
  if (unreviewed_count > 0) {
    results.push_back(warn(category, "pods claiming injection were reviewed by the webhook",
                           listed(unreviewed, unreviewed_count) +
                               " (in kube-system or weft-system, which the webhook never "
                               "reviews: their seal is unverified, so they are not counted nor "
                               "asked)",
                           "a pod made to look injected: nothing injects pods there"));
  }
  const std::string answering = "meshed pods' proxies answer /version";
  if (unanswered_count > 0) {
    results.push_back(fail(category, answering, listed(unanswered, unanswered_count),
                           "kubectl -n NAMESPACE logs POD -c weft-proxy (weftctl check needs get "
                           "on pods/proxy)"));
  } else {
    results.push_back(ok(category, answering, counted));
  }

  const std::string same_version =
      "proxies run the control plane's version" +
      (expected_version.empty() ? std::string() : " (" + expected_version + ")");
  if (outdated_count > 0) {
    results.push_back(warn(category, same_version, listed(outdated, outdated_count),
                           "restart them to get the current proxy: kubectl -n NAMESPACE rollout "
                           "restart deployment/NAME"));
  } else {
    results.push_back(ok(category, same_version));
  }

  const std::string current = "proxies serve their namespace's current configuration";
  if (stale_count > 0) {
    results.push_back(fail(category, current,
                           listed(stale, stale_count) + " (the namespace's " +
                               std::string(kProxyConfigMapName) + " has another hash)",
                           "a proxy takes a new document within seconds; one that stays behind "
                           "cannot read it or refused it: kubectl -n NAMESPACE logs POD -c "
                           "weft-proxy"));
  } else {
    results.push_back(ok(category, current));
  }
  return results;
}

}  // namespace weft::ctl::check
