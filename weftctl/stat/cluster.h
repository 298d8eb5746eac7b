#pragma once

// What `weftctl stat` and `diagnose` ask of the cluster, behind a small
// interface so that unit tests give canned objects and scrapes instead of an
// API server. kube_cluster() is the real one: the project's Kubernetes client,
// and the API server's pod proxy for the proxies' admin port (never the pod
// IPs: weftctl may run outside the cluster network).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "weft/kube/client.h"
#include "weft/kube/error.h"
#include "weftctl/pod_probe.h"

namespace weft::ctl::stat {

class Cluster {
 public:
  virtual ~Cluster() = default;

  // Makes the API client (reads the kubeconfig); the other calls fail the
  // same way when it cannot be made.
  virtual weft::Result<void> connect() = 0;

  // The objects of a collection; ns "" lists every namespace.
  virtual kube::Result<std::vector<nlohmann::json>> list(const kube::ResourceType& type,
                                                         std::string_view ns) = 0;
  virtual kube::Result<nlohmann::json> get(const kube::ResourceType& type, std::string_view ns,
                                           std::string_view name) = 0;
  // GET `path` on the pod's `port` through the API server's pod proxy
  // (/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH): the body of a 200,
  // else an error that says what answered.
  virtual kube::Result<std::string> pod_get(std::string_view ns, std::string_view pod,
                                            std::uint16_t port, std::string_view path) = 0;
  // Sleeps for `duration`; returns how long it really took (the window
  // between two scrapes is measured, not assumed).
  virtual std::chrono::duration<double> wait(std::chrono::milliseconds duration) = 0;
};

// The client is made on first use, by `client` (Context::client).
// Pods are asked within `pod_probe`'s bounds (pod_probe.h).
std::unique_ptr<Cluster> kube_cluster(
    std::function<weft::Result<std::shared_ptr<kube::Client>>()> client,
    const PodProbeLimits& pod_probe);

}  // namespace weft::ctl::stat
