#include "weftctl/version/component_version.h"

#include <algorithm>
#include <cctype>

#include "weft/version.h"
#include "weftctl/check/install_layout.h"

namespace weft::ctl {

namespace {

// The tag of an image reference: after the last ':' that follows the last
// '/' (a registry's port is not a tag), before any '@digest'.
std::string image_tag(std::string_view image) {
  if (const auto at = image.find('@'); at != std::string_view::npos) image = image.substr(0, at);
  const auto slash = image.rfind('/');
  const auto colon = image.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) {
    return "";
  }
  return std::string(image.substr(colon + 1));
}

}  // namespace

std::string normalize_version(std::string_view version) {
  if (!version.empty() && std::isdigit(static_cast<unsigned char>(version.front()))) {
    return "v" + std::string(version);
  }
  return std::string(version);
}

std::string pod_version(const nlohmann::json& pod) {
  const nlohmann::json::json_pointer label{"/metadata/labels/app.kubernetes.io~1version"};
  if (pod.contains(label) && pod.at(label).is_string()) {
    return normalize_version(pod.at(label).get<std::string>());
  }
  const nlohmann::json::json_pointer image{"/spec/containers/0/image"};
  if (pod.contains(image) && pod.at(image).is_string()) {
    return normalize_version(image_tag(pod.at(image).get<std::string>()));
  }
  return "";
}

std::map<std::string, std::set<std::string>> control_plane_versions(const nlohmann::json& pods) {
  std::map<std::string, std::set<std::string>> versions;
  if (!pods.is_array()) return versions;
  const nlohmann::json::json_pointer component{"/metadata/labels/app.kubernetes.io~1name"};
  const nlohmann::json::json_pointer name{"/metadata/name"};
  for (const auto& pod : pods) {
    if (!pod.contains(component) || !pod.at(component).is_string()) continue;
    const auto& deployments = control_plane_deployments();
    if (std::find(deployments.begin(), deployments.end(), pod.at(component).get<std::string>()) ==
        deployments.end()) {
      continue;
    }
    const std::string version = pod_version(pod);
    versions[version.empty() ? "unknown" : version].insert(pod.value(name, std::string("?")));
  }
  return versions;
}

std::string client_version() {
  return std::string(weft::version());
}

}  // namespace weft::ctl
