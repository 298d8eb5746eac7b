#include "weftctl/check/gather.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "identity/objects.h"
#include "webhook/flags.h"
#include "weft/constants.h"
#include "weftctl/check/install_layout.h"
#include "weftctl/check/meshed_pod.h"
#include "weftctl/pod_probe.h"

namespace weft::ctl::check {

namespace {

const std::string kSystem(kControlPlaneNamespace);
const std::string kCoreNamespaced = "/api/v1/namespaces/" + kSystem;

// A list, page by page (a large cluster's pods do not come in one answer):
// the items of every page in one List answer, or the first failed answer.
Answer get_list(ClusterReader& reader, const std::string& path) {
  const char separator = path.find('?') == std::string::npos ? '?' : '&';
  Answer all;
  std::string next;
  do {
    Answer page =
        reader.get(path + separator + "limit=500" + (next.empty() ? "" : "&continue=" + next));
    if (!page.found() || !page.body.is_object()) return page;
    if (all.body.is_null()) {
      all = page;
      all.body["items"] = nlohmann::json::array();
    }
    for (auto& item : page.body.value("items", nlohmann::json::array())) {
      all.body["items"].push_back(std::move(item));
    }
    next = text_at(page.body, "/metadata/continue");
  } while (!next.empty());
  return all;
}

std::string secret_path(std::string_view name) {
  return kCoreNamespaced + "/secrets/" + std::string(name);
}

// "weft-system/weft-webhook-tls" -> "weft-webhook-tls"
std::string webhook_secret_name() {
  const std::string configured = webhook::Flags{}.certificate_secret;
  return configured.substr(configured.find('/') + 1);
}

void gather_access(ClusterReader& reader, Facts& facts) {
  for (const RequiredPermission& permission : install_permissions()) {
    nlohmann::json attributes = {
        {"verb", permission.verb}, {"group", permission.group}, {"resource", permission.resource}};
    if (!permission.namespace_name.empty()) attributes["namespace"] = permission.namespace_name;
    const nlohmann::json review = {{"apiVersion", "authorization.k8s.io/v1"},
                                   {"kind", "SelfSubjectAccessReview"},
                                   {"spec", {{"resourceAttributes", attributes}}}};
    facts.access.push_back(
        {permission.verb, permission.group, permission.resource, permission.namespace_name,
         reader.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)});
  }
}

// Pods asked at once: a round over many pods that do not answer takes
// pods / kParallelProbes times --pod-timeout, not pods times it.
constexpr std::size_t kParallelProbes = 8;

void gather_proxies(ClusterReader& reader, Facts& facts) {
  std::vector<std::string> paths;
  for (const auto& pod : list_items(facts.pods)) {
    if (!is_meshed_pod(pod) || !is_serving_pod(pod)) continue;
    const std::string ns = text_at(pod, "/metadata/namespace");
    const std::string name = text_at(pod, "/metadata/name");
    facts.proxies.push_back({ns, name, {}});
    paths.push_back(proxy_version_path(ns, name, proxy_admin_port(pod)));
  }
  std::atomic<std::size_t> next{0};
  const auto probe_some = [&] {
    for (std::size_t i = next++; i < paths.size(); i = next++) {
      facts.proxies[i].version = reader.probe_pod(paths[i]);
    }
  };
  std::vector<std::jthread> workers;
  for (std::size_t i = 1; i < std::min(kParallelProbes, paths.size()); ++i) {
    workers.emplace_back(probe_some);
  }
  probe_some();
}

}  // namespace

Answer ApiClusterReader::exchange(kube::RawRequest request) {
  if (deadline_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadline_ - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      Answer answer;
      answer.error = "not asked: the --wait deadline passed";
      return answer;
    }
    const auto usual =
        request.timeout.count() > 0 ? request.timeout : client_.config().request_timeout;
    request.timeout = std::min(usual, left);
  }
  return answer_of(client_.raw(request));
}

Answer ApiClusterReader::get(const std::string& path) {
  return exchange({.method = "GET", .path = path});
}

Answer ApiClusterReader::post(const std::string& path, const nlohmann::json& body) {
  return exchange({.method = "POST", .path = path, .body = body.dump()});
}

Answer ApiClusterReader::probe_pod(const std::string& path) {
  return exchange(pod_probe_request(path, pod_probe_));
}

Facts gather_facts(ClusterReader& reader, Mode mode, TimePoint now) {
  Facts facts;
  facts.mode = mode;
  facts.now = now;
  facts.server_version = reader.get("/version");
  if (!facts.server_version.found()) return facts;
  facts.control_plane_namespace = reader.get("/api/v1/namespaces/" + kSystem);
  if (mode == Mode::kPreInstall) {
    gather_access(reader, facts);
    return facts;
  }
  for (const ExpectedCrd& crd : expected_crds()) {
    facts.crds[crd.name] =
        reader.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + crd.name);
  }
  if (!facts.control_plane_namespace.found()) return facts;
  for (const std::string_view deployment : control_plane_deployments()) {
    facts.deployments[std::string(deployment)] = reader.get(
        "/apis/apps/v1/namespaces/" + kSystem + "/deployments/" + std::string(deployment));
  }
  facts.control_plane_pods =
      get_list(reader, kCoreNamespaced + "/pods?labelSelector=app.kubernetes.io%2Fpart-of%3Dweft");
  facts.webhook_configuration =
      reader.get("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" +
                 webhook::Flags{}.webhook_configuration);
  facts.webhook_secret = reader.get(secret_path(webhook_secret_name()));
  facts.trust_anchors =
      reader.get(kCoreNamespaced + "/configmaps/" + std::string(identity::kBundleConfigMap));
  facts.issuer_secret = reader.get(secret_path(identity::kIssuerSecret));
  facts.meshed_namespaces =
      get_list(reader, "/api/v1/namespaces?labelSelector=weft.io%2Finject%3Denabled");
  facts.pods = get_list(reader, "/api/v1/pods");
  for (const std::string& name :
       namespaces_with_proxies(list_items(facts.meshed_namespaces), list_items(facts.pods))) {
    facts.proxy_config_maps[name] = reader.get("/api/v1/namespaces/" + name + "/configmaps/" +
                                               std::string(kProxyConfigMapName));
  }
  gather_proxies(reader, facts);
  return facts;
}

}  // namespace weft::ctl::check
