#pragma once

// Everything `weftctl check` reads from the cluster, gathered once (gather.h)
// and then judged by pure functions (checks.h): API answers as they came,
// certificates as the Secrets hold them, and the time of the check. A test
// builds Facts by hand, or gathers them from a fake ClusterReader.

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "weft/kube/client.h"
#include "weft/result.h"

namespace weft::ctl::check {

using TimePoint = std::chrono::system_clock::time_point;

// One answer of the API server (or of a proxy through its pod proxy).
struct Answer {
  int status = 0;       // HTTP status; 0: no answer (the error says why)
  nlohmann::json body;  // the JSON body; null when the body is not JSON
  std::string error;    // no answer: the transport error; else empty

  bool found() const { return status >= 200 && status < 300; }
  bool not_found() const { return status == 404; }
  // In words: "HTTP 403: secrets \"x\" is forbidden: ..." or the transport error.
  std::string describe() const;
};

Answer answer_of(const Result<kube::RawResponse>& response);
Answer answer_json(int status, nlohmann::json body);  // for tests

enum class Mode {
  kInstalled,   // the whole mesh
  kPreInstall,  // --pre: can Weft be installed here?
};

// A SelfSubjectAccessReview: may the user `verb` this resource?
struct AccessProbe {
  std::string verb;
  std::string group;
  std::string resource;
  std::string namespace_name;  // "" for a cluster-scoped resource
  Answer review;
};

// What the proxy of one meshed pod answered on /version, through the API
// server's pod proxy.
struct ProxyProbe {
  std::string namespace_name;
  std::string pod;
  Answer version;
};

struct Facts {
  Mode mode = Mode::kInstalled;
  TimePoint now{};
  Answer server_version;  // GET /version
  // By CRD name (meshroutes.weft.io, ...): the CustomResourceDefinition.
  std::map<std::string, Answer> crds;
  Answer control_plane_namespace;
  // By Deployment name (weft-operator, ...), in weft-system.
  std::map<std::string, Answer> deployments;
  Answer control_plane_pods;     // PodList of weft-system, app.kubernetes.io/part-of=weft
  Answer webhook_configuration;  // MutatingWebhookConfiguration weft-webhook
  Answer webhook_secret;         // Secret weft-webhook-tls
  Answer trust_anchors;          // ConfigMap weft-identity-trust-anchors
  Answer issuer_secret;          // Secret weft-identity-issuer
  Answer meshed_namespaces;      // NamespaceList, weft.io/inject=enabled
  // By namespace: its weft-proxy-config ConfigMap.
  std::map<std::string, Answer> proxy_config_maps;
  Answer pods;  // PodList of every namespace
  std::vector<ProxyProbe> proxies;
  std::vector<AccessProbe> access;  // --pre
};

// Small readers of API objects, shared by the checks.
// The string at a JSON pointer, or "" when absent or not a string.
std::string text_at(const nlohmann::json& object, std::string_view pointer);
// A Secret's data value, base64-decoded; "" when absent or not base64.
std::string secret_value(const nlohmann::json& secret, std::string_view key);
// The items of a List answer (empty when it is not one).
const nlohmann::json& list_items(const Answer& answer);

}  // namespace weft::ctl::check
