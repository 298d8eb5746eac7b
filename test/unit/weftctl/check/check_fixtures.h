#pragma once

// Facts of a healthy install, built in memory (certificates made here with
// the project's own code), for the check tests to break one thing at a time.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "weft/base64.h"
#include "weft/http/certificates.h"
#include "weft/identity/x509.h"
#include "weftctl/check/check_result.h"
#include "weftctl/check/facts.h"

namespace weft::ctl::check::testing {

using namespace std::chrono_literals;
using Days = std::chrono::duration<long long, std::ratio<86400>>;

// A file of the repository, found from the test data folder's path
// (ROOT/test/unit/weftctl/testdata, which need not exist).
inline std::string repository_file(const std::string& relative) {
  const std::string testdata = WEFTCTL_TESTDATA;
  const std::string root = testdata.substr(0, testdata.rfind("/test/unit/weftctl/testdata"));
  return root + "/" + relative;
}

// YAML as JSON: mappings, sequences, and scalars as strings except true/false
// (enough for the CRDs' fields the checks read).
inline nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node)
        object[entry.first.as<std::string>()] = yaml_to_json(entry.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& item : node) array.push_back(yaml_to_json(item));
      return array;
    }
    case YAML::NodeType::Scalar: {
      const auto text = node.as<std::string>();
      if (text == "true") return true;
      if (text == "false") return false;
      return text;
    }
    default:
      return nullptr;
  }
}

// A CRD of crds/ as the API server returns it: established.
inline nlohmann::json installed_crd(const std::string& file) {
  nlohmann::json crd = yaml_to_json(YAML::LoadFile(repository_file("crds/" + file)));
  crd["status"]["conditions"] = {{{"type", "NamesAccepted"}, {"status", "True"}},
                                 {{"type", "Established"}, {"status", "True"}}};
  return crd;
}

struct Certificates {
  std::chrono::system_clock::time_point made;  // when they were made (their "now")
  http::PemCertificate webhook_ca;
  http::PemCertificate webhook_serving;  // weft-webhook.weft-system.svc, 90 days
  http::PemCertificate other_ca;
  http::PemCertificate wrong_name;    // signed by webhook_ca, another name
  identity::KeyedCertificate anchor;  // 365 days
  identity::KeyedCertificate issuer;  // 30 days
  identity::KeyedCertificate other_anchor;
  identity::KeyedCertificate foreign_issuer;  // signed by other_anchor
};

inline const Certificates& certificates() {
  static const Certificates made = [] {
    Certificates c;
    c.made = std::chrono::system_clock::now();
    c.webhook_ca = *http::make_certificate_authority("weft-webhook-ca", Days(365 * 5));
    c.webhook_serving = *http::issue_certificate(
        c.webhook_ca, {.common_name = "weft-webhook",
                       .dns_names = {"weft-webhook.weft-system.svc",
                                     "weft-webhook.weft-system.svc.cluster.local"},
                       .ip_addresses = {},
                       .uris = {},
                       .validity = Days(90)});
    c.other_ca = *http::make_certificate_authority("another-ca", Days(365));
    c.wrong_name = *http::issue_certificate(c.webhook_ca, {.common_name = "x",
                                                           .dns_names = {"other.weft-system.svc"},
                                                           .ip_addresses = {},
                                                           .uris = {},
                                                           .validity = Days(90)});
    c.anchor = *identity::make_trust_anchor("cluster.local", Days(365), c.made);
    c.issuer = *identity::make_issuer(c.anchor, "cluster.local", Days(30), c.made);
    c.other_anchor = *identity::make_trust_anchor("cluster.local", Days(365), c.made);
    c.foreign_issuer = *identity::make_issuer(c.other_anchor, "cluster.local", Days(30), c.made);
    return c;
  }();
  return made;
}

inline nlohmann::json secret(const std::string& name, const std::string& cert_pem,
                             bool managed = true) {
  nlohmann::json object = {
      {"metadata", {{"name", name}, {"namespace", "weft-system"}}},
      {"data", {{"tls.crt", base64_encode(cert_pem)}, {"tls.key", base64_encode("key")}}}};
  if (managed) object["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "weft-identity";
  return object;
}

inline nlohmann::json webhook_configuration(const std::string& ca_pem) {
  nlohmann::json webhook = {
      {"clientConfig",
       {{"caBundle", base64_encode(ca_pem)},
        {"service",
         {{"name", "weft-webhook"}, {"namespace", "weft-system"}, {"path", "/mutate"}}}}}};
  nlohmann::json first = webhook;
  first["name"] = "namespace.inject.weft.io";
  nlohmann::json second = webhook;
  second["name"] = "pod.inject.weft.io";
  return {{"metadata", {{"name", "weft-webhook"}}}, {"webhooks", {first, second}}};
}

inline nlohmann::json deployment(const std::string& name, int replicas, int ready) {
  return {{"metadata", {{"name", name}, {"namespace", "weft-system"}}},
          {"spec", {{"replicas", replicas}}},
          {"status", {{"replicas", replicas}, {"readyReplicas", ready}}}};
}

inline nlohmann::json control_plane_pod(const std::string& component, const std::string& name,
                                        const std::string& tag) {
  return {
      {"metadata",
       {{"name", name},
        {"namespace", "weft-system"},
        {"labels",
         {{"app.kubernetes.io/name", component}, {"app.kubernetes.io/part-of", "weft"}}}}},
      {"spec", {{"containers", {{{"name", "main"}, {"image", "weft/" + component + ":" + tag}}}}}},
      {"status", {{"phase", "Running"}}}};
}

inline nlohmann::json meshed_pod(const std::string& ns, const std::string& name,
                                 const std::string& phase = "Running") {
  return {{"metadata",
           {{"name", name},
            {"namespace", ns},
            {"annotations",
             {{"weft.io/injected", "weft-init,weft-proxy"},
              {"weft.io/injection-seal", "sha256:00"},
              {"weft.io/proxy-version", "v0.1.0"}}}}},
          {"spec",
           {{"initContainers",
             {{{"name", "weft-init"}},
              {{"name", "weft-proxy"},
               {"restartPolicy", "Always"},
               {"ports", {{{"name", "weft-admin"}, {"containerPort", 4191}}}}}}},
            {"containers", {{{"name", "app"}}}}}},
          {"status", {{"phase", phase}}}};
}

inline nlohmann::json list_of(nlohmann::json items) {
  return {{"metadata", {{"resourceVersion", "1"}}}, {"items", std::move(items)}};
}

inline nlohmann::json proxy_config_map(const std::string& ns, const std::string& hash,
                                       std::size_t document_bytes = 100) {
  return {{"metadata",
           {{"name", "weft-proxy-config"},
            {"namespace", ns},
            {"annotations", {{"weft.io/config-hash", hash}}}}},
          {"data", {{"config.json", std::string(document_bytes, 'x')}}}};
}

inline const Answer kNotFound = answer_json(
    404, {{"kind", "Status"}, {"message", "not found"}, {"reason", "NotFound"}, {"code", 404}});

inline Answer version_answer(const std::string& version, const nlohmann::json& hash) {
  return answer_json(200, {{"version", version}, {"configHash", hash}});
}

// Everything healthy: Kubernetes 1.34, both CRDs, 2/2 of each component at
// 0.1.0, the webhook's certificate and the identity's fresh, one meshed
// namespace "shop" with two running meshed pods serving its document.
inline Facts healthy_facts() {
  const Certificates& c = certificates();
  Facts facts;
  facts.now = c.made;
  facts.server_version =
      answer_json(200, {{"major", "1"}, {"minor", "34"}, {"gitVersion", "v1.34.4"}});
  facts.crds["meshroutes.weft.io"] = answer_json(200, installed_crd("meshroute.yaml"));
  facts.crds["meshpolicies.weft.io"] = answer_json(200, installed_crd("meshpolicy.yaml"));
  facts.control_plane_namespace = answer_json(200, {{"metadata", {{"name", "weft-system"}}}});
  nlohmann::json pods = nlohmann::json::array();
  for (const std::string component : {"weft-operator", "weft-webhook", "weft-identity"}) {
    facts.deployments[component] = answer_json(200, deployment(component, 2, 2));
    pods.push_back(control_plane_pod(component, component + "-a", "0.1.0"));
    pods.push_back(control_plane_pod(component, component + "-b", "0.1.0"));
  }
  facts.control_plane_pods = answer_json(200, list_of(pods));
  facts.webhook_configuration = answer_json(200, webhook_configuration(c.webhook_ca.cert));
  facts.webhook_secret =
      answer_json(200, secret("weft-webhook-tls", c.webhook_serving.cert, false));
  facts.trust_anchors = answer_json(200, {{"metadata", {{"name", "weft-identity-trust-anchors"}}},
                                          {"data", {{"ca-bundle.crt", c.anchor.cert_pem}}}});
  facts.issuer_secret = answer_json(200, secret("weft-identity-issuer", c.issuer.cert_pem));
  facts.meshed_namespaces = answer_json(
      200,
      list_of({{{"metadata", {{"name", "shop"}, {"labels", {{"weft.io/inject", "enabled"}}}}}}}));
  facts.proxy_config_maps["shop"] = answer_json(200, proxy_config_map("shop", "sha256:aaa"));
  facts.pods =
      answer_json(200, list_of({meshed_pod("shop", "web-1"), meshed_pod("shop", "web-2"),
                                control_plane_pod("weft-operator", "weft-operator-a", "0.1.0")}));
  facts.proxies = {{"shop", "web-1", version_answer("v0.1.0", "sha256:aaa")},
                   {"shop", "web-2", version_answer("v0.1.0", "sha256:aaa")}};
  return facts;
}

// The first result whose name starts with name_start; if none, a failing
// placeholder that names what was looked for, so the CHECK on it says why.
inline CheckResult find_result(const CheckResults& results, const std::string& name_start) {
  for (const auto& result : results) {
    if (result.name.rfind(name_start, 0) == 0) return result;
  }
  return {"", "<no result named " + name_start + "...>", Status::kFail, "", ""};
}

}  // namespace weft::ctl::check::testing
