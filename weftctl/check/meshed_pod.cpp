#include "weftctl/check/meshed_pod.h"

#include "weft/constants.h"
#include "weftctl/check/facts.h"

namespace weft::ctl::check {

namespace {

const nlohmann::json* proxy_container(const nlohmann::json& pod) {
  for (const char* list : {"/spec/initContainers", "/spec/containers"}) {
    const nlohmann::json::json_pointer where{list};
    if (!pod.contains(where) || !pod.at(where).is_array()) continue;
    for (const auto& container : pod.at(where)) {
      if (container.value("name", "") == kProxyContainerName) return &container;
    }
  }
  return nullptr;
}

}  // namespace

bool claims_injection(const nlohmann::json& pod) {
  const nlohmann::json::json_pointer seal{"/metadata/annotations/" +
                                          std::string("weft.io~1injection-seal")};
  static_assert(kInjectionSealAnnotation == "weft.io/injection-seal");
  return pod.is_object() && pod.contains(seal) && proxy_container(pod) != nullptr;
}

bool webhook_reviews_claim(const nlohmann::json& pod) {
  const std::string ns = text_at(pod, "/metadata/namespace");
  return ns != "kube-system" && ns != kControlPlaneNamespace;
}

bool is_meshed_pod(const nlohmann::json& pod) {
  return claims_injection(pod) && webhook_reviews_claim(pod);
}

std::set<std::string> namespace_names(const nlohmann::json& namespace_items) {
  std::set<std::string> names;
  if (!namespace_items.is_array()) return names;
  for (const auto& ns : namespace_items) names.insert(text_at(ns, "/metadata/name"));
  return names;
}

std::set<std::string> namespaces_with_proxies(const nlohmann::json& namespace_items,
                                              const nlohmann::json& pod_items) {
  std::set<std::string> names = namespace_names(namespace_items);
  if (!pod_items.is_array()) return names;
  for (const auto& pod : pod_items) {
    if (is_meshed_pod(pod)) names.insert(text_at(pod, "/metadata/namespace"));
  }
  return names;
}

bool is_serving_pod(const nlohmann::json& pod) {
  const nlohmann::json::json_pointer phase{"/status/phase"};
  const bool running = pod.contains(phase) && pod.at(phase) == "Running";
  return running && !pod.contains(nlohmann::json::json_pointer{"/metadata/deletionTimestamp"});
}

std::uint16_t proxy_admin_port(const nlohmann::json& pod) {
  const nlohmann::json* container = proxy_container(pod);
  if (container == nullptr || !container->contains("env") || !(*container)["env"].is_array()) {
    return kProxyAdminPort;
  }
  for (const auto& variable : (*container)["env"]) {
    if (text_at(variable, "/name") != kEnvAdminPort) continue;
    const std::string digits = text_at(variable, "/value");
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      break;
    }
    const unsigned long number = std::stoul(digits);
    if (number > 0 && number < 65536) return static_cast<std::uint16_t>(number);
    break;
  }
  return kProxyAdminPort;
}

std::string proxy_version_path(const std::string& namespace_name, const std::string& pod,
                               std::uint16_t admin_port) {
  // Kubernetes names are DNS labels and subdomains: nothing to escape.
  return "/api/v1/namespaces/" + namespace_name + "/pods/" + pod + ":" +
         std::to_string(admin_port) + "/proxy/version";
}

}  // namespace weft::ctl::check
