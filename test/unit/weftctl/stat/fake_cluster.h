#pragma once

// A Cluster for unit tests: canned objects, and canned /metrics pages per pod
// that change between the first and the second scrape (the wait switches
// them), or fail.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "weftctl/stat/cluster.h"

namespace weft::ctl::stat::testing {

class FakeCluster final : public Cluster {
 public:
  // By plural ("pods", "deployments", ...): the objects, each with its namespace.
  std::map<std::string, std::vector<nlohmann::json>> objects;
  // By "ns/pod:port/path": the answer before and after the wait; a missing
  // one is a 503 from the API server's pod proxy.
  std::map<std::string, std::string> pages_before;
  std::map<std::string, std::string> pages_after;
  // get() of these "plural/ns/name" answers 403.
  std::vector<std::string> forbidden;
  std::chrono::milliseconds waited{0};
  std::vector<std::string> requests;  // what pod_get was asked, in order

  weft::Result<void> connect() override { return {}; }

  kube::Result<std::vector<nlohmann::json>> list(const kube::ResourceType& type,
                                                 std::string_view ns) override {
    std::vector<nlohmann::json> found;
    for (const auto& object : objects[type.plural]) {
      if (ns.empty() || object["metadata"].value("namespace", "") == ns) found.push_back(object);
    }
    return found;
  }

  kube::Result<nlohmann::json> get(const kube::ResourceType& type, std::string_view ns,
                                   std::string_view name) override {
    const std::string key = type.plural + "/" + std::string(ns) + "/" + std::string(name);
    for (const auto& refused : forbidden) {
      if (refused == key)
        return kube::make_error(kube::ErrorKind::kForbidden, "GET " + key, "no", 403);
    }
    for (const auto& object : objects[type.plural]) {
      if (object["metadata"].value("namespace", "") == ns &&
          object["metadata"].value("name", "") == name) {
        return object;
      }
    }
    return kube::make_error(kube::ErrorKind::kNotFound, "GET " + key, "not found", 404);
  }

  kube::Result<std::string> pod_get(std::string_view ns, std::string_view pod, std::uint16_t port,
                                    std::string_view path) override {
    const std::string key =
        std::string(ns) + "/" + std::string(pod) + ":" + std::to_string(port) + std::string(path);
    requests.push_back(key);
    auto& pages = waited.count() == 0 ? pages_before : pages_after;
    const auto found = pages.find(key);
    if (found == pages.end()) {
      return kube::make_error(kube::ErrorKind::kServerError, "GET " + key,
                              "error trying to reach service: connection refused", 503);
    }
    return found->second;
  }

  std::chrono::duration<double> wait(std::chrono::milliseconds duration) override {
    waited += duration;
    return duration;
  }
};

// A pod as the API returns it; meshed ones carry the proxy as the webhook
// injects it (the seal, a native sidecar, its admin port in WEFT_PROXY_ADMIN_PORT).
inline nlohmann::json pod_object(const std::string& ns, const std::string& name,
                                 const std::map<std::string, std::string>& labels,
                                 bool meshed = true, std::uint16_t admin_port = 4191,
                                 const std::string& phase = "Running") {
  nlohmann::json pod = {
      {"metadata", {{"namespace", ns}, {"name", name}, {"labels", labels}}},
      {"spec",
       {{"serviceAccountName", labels.count("app") ? labels.at("app") : "default"},
        {"containers", {{{"name", "app"}, {"image", "app:1"}}}}}},
      {"status", {{"phase", phase}}}};
  if (meshed) {
    pod["metadata"]["annotations"] = {{"weft.io/injection-seal", "sha256:00"}};
    pod["spec"]["initContainers"] = {
        {{"name", "weft-init"}},
        {{"name", "weft-proxy"},
         {"restartPolicy", "Always"},
         {"env", {{{"name", "WEFT_PROXY_ADMIN_PORT"}, {"value", std::to_string(admin_port)}}}},
         {"ports", {{{"name", "weft-admin"}, {"containerPort", admin_port}}}}}};
  }
  return pod;
}

inline nlohmann::json deployment_object(const std::string& ns, const std::string& name,
                                        const std::map<std::string, std::string>& match_labels) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}},
          {"spec", {{"selector", {{"matchLabels", match_labels}}}}}};
}

inline nlohmann::json service_object(const std::string& ns, const std::string& name,
                                     const std::map<std::string, std::string>& selector) {
  return {{"metadata", {{"namespace", ns}, {"name", name}}}, {"spec", {{"selector", selector}}}};
}

}  // namespace weft::ctl::stat::testing
