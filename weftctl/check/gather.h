#pragma once

// Gathering the facts of `weftctl check`: the only part that talks to the
// cluster, through a ClusterReader (the API client in the program, a table of
// answers in the tests).

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "weft/kube/client.h"
#include "weftctl/check/facts.h"
#include "weftctl/pod_probe.h"

namespace weft::ctl::check {

class ClusterReader {
 public:
  virtual ~ClusterReader() = default;
  // GET an API path ("/api/v1/...", with its query); the answer whatever its status.
  virtual Answer get(const std::string& path) = 0;
  // POST a JSON object (a SelfSubjectAccessReview).
  virtual Answer post(const std::string& path, const nlohmann::json& body) = 0;
  // GET through the API server's pod proxy: the pod answers, so the answer is
  // bounded (pod_probe.h). Called from several threads at once (pods are asked
  // in parallel). The tests' table answers it like get.
  virtual Answer probe_pod(const std::string& path) { return get(path); }
  // No request is started after this time and none runs past it (--wait).
  virtual void set_deadline(std::chrono::steady_clock::time_point) {}
};

// The API server through the project's client.
class ApiClusterReader : public ClusterReader {
 public:
  ApiClusterReader(kube::Client& client, const PodProbeLimits& pod_probe)
      : client_(client), pod_probe_(pod_probe) {}
  Answer get(const std::string& path) override;
  Answer post(const std::string& path, const nlohmann::json& body) override;
  Answer probe_pod(const std::string& path) override;
  void set_deadline(std::chrono::steady_clock::time_point deadline) override {
    deadline_ = deadline;
  }

 private:
  // The request, its timeout cut to the deadline; an Answer error once it passed.
  Answer exchange(kube::RawRequest request);

  kube::Client& client_;
  PodProbeLimits pod_probe_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

// Reads what the mode's checks judge. Stops after /version when the API
// server does not answer. Each meshed pod that runs is asked its /version
// through the API server's pod proxy.
Facts gather_facts(ClusterReader& reader, Mode mode, TimePoint now);

}  // namespace weft::ctl::check
