#include "weftctl/stat/workloads.h"

#include <fmt/format.h>

#include "weft/constants.h"
#include "weft/proxyconfig/enums.h"
#include "weft/proxyconfig/label_selector.h"
#include "weftctl/check/meshed_pod.h"

namespace weft::ctl::stat {
namespace {

using nlohmann::json;
namespace pc = proxyconfig;

const json& at(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  const auto found = object.find(key);
  return found == object.end() ? kNull : *found;
}

std::string text(const json& object, const char* key) {
  const json& value = at(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

std::map<std::string, std::string> string_map(const json& value) {
  std::map<std::string, std::string> out;
  if (!value.is_object()) return out;
  for (const auto& [key, item] : value.items()) {
    if (item.is_string()) out.emplace(key, item.get<std::string>());
  }
  return out;
}

}  // namespace

PodInfo pod_info(const json& pod) {
  PodInfo info;
  const json& metadata = at(pod, "metadata");
  const json& spec = at(pod, "spec");
  info.ns = text(metadata, "namespace");
  info.name = text(metadata, "name");
  info.labels = string_map(at(metadata, "labels"));
  info.service_account = text(spec, "serviceAccountName");
  if (info.service_account.empty()) info.service_account = "default";
  const std::string phase = text(at(pod, "status"), "phase");
  info.running = phase == "Running";
  info.finished = phase == "Succeeded" || phase == "Failed";
  // Only a claim the webhook verified (weftctl check's rule): a made-up
  // weft-proxy is neither counted nor scraped.
  info.meshed = check::is_meshed_pod(pod);
  if (info.meshed) info.admin_port = check::proxy_admin_port(pod);
  return info;
}

DeploymentInfo deployment_info(const json& deployment) {
  DeploymentInfo info;
  const json& metadata = at(deployment, "metadata");
  info.ns = text(metadata, "namespace");
  info.name = text(metadata, "name");
  const json& selector = at(at(deployment, "spec"), "selector");
  info.selector.match_labels = string_map(at(selector, "matchLabels"));
  for (const json& expression : at(selector, "matchExpressions")) {
    pc::SelectorRequirement requirement;
    requirement.key = text(expression, "key");
    // An operator this reader does not know selects nothing rather than everything.
    requirement.op = pc::parse_enum<pc::SelectorOperator>(text(expression, "operator"))
                         .value_or(pc::SelectorOperator::kDoesNotExist);
    for (const json& value : at(expression, "values")) {
      if (value.is_string()) requirement.values.push_back(value.get<std::string>());
    }
    info.selector.match_expressions.push_back(std::move(requirement));
  }
  return info;
}

ServiceInfo service_info(const json& service) {
  ServiceInfo info;
  const json& metadata = at(service, "metadata");
  info.ns = text(metadata, "namespace");
  info.name = text(metadata, "name");
  info.selector = string_map(at(at(service, "spec"), "selector"));
  return info;
}

bool selects(const DeploymentInfo& deployment, const PodInfo& pod) {
  // An empty selector would select every pod; the API refuses one on a
  // Deployment, and so do we.
  if (deployment.selector == pc::LabelSelector{}) return false;
  return deployment.ns == pod.ns && pc::selector_matches(deployment.selector, pod.labels);
}

bool selects(const ServiceInfo& service, const PodInfo& pod) {
  if (service.selector.empty() || service.ns != pod.ns) return false;
  pc::LabelSelector selector;
  selector.match_labels = service.selector;
  return pc::selector_matches(selector, pod.labels);
}

Result<std::string> normalise_kind(std::string_view kind) {
  static const std::map<std::string, std::string, std::less<>> kKinds = {
      {"deploy", "deploy"}, {"deployment", "deploy"}, {"deployments", "deploy"},
      {"po", "pod"},        {"pod", "pod"},           {"pods", "pod"},
      {"svc", "svc"},       {"service", "svc"},       {"services", "svc"},
      {"ns", "ns"},         {"namespace", "ns"},      {"namespaces", "ns"},
  };
  const auto found = kKinds.find(kind);
  if (found == kKinds.end()) {
    return Error{
        fmt::format("{:?} is not a kind weftctl knows: deploy, pod, svc or ns", std::string(kind))};
  }
  return found->second;
}

Result<ResourceRef> parse_resource_ref(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
      text.find('/', slash + 1) != std::string_view::npos) {
    return Error{fmt::format("{:?} is not KIND/NAME (deploy/web, svc/web, pod/web-1, ns/shop)",
                             std::string(text))};
  }
  auto kind = normalise_kind(text.substr(0, slash));
  if (!kind) return kind.error();
  return ResourceRef{*kind, std::string(text.substr(slash + 1))};
}

std::string service_of_target(std::string_view target_service) {
  const std::size_t colon = target_service.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  const std::string_view name = target_service.substr(0, colon);
  // Addresses ("10.0.0.1", "[fd00::1]") and other namespaces' "name.ns" are
  // not Services of this namespace: a Service name is a DNS-1035 label.
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos ||
      !(name.front() >= 'a' && name.front() <= 'z')) {
    return {};
  }
  return std::string(name);
}

}  // namespace weft::ctl::stat
