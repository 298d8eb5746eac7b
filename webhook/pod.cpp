#include "webhook/pod.h"

#include <algorithm>
#include <array>

#include "weft/constants.h"
#include "weft/log.h"

namespace weft::webhook {
namespace {

using nlohmann::json;

// Kubernetes JSON may carry null for an omitted field.
const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// Reads the names of a list of containers; also collects their ports.
Result<std::vector<std::string>> read_containers(const json& list, const std::string& where,
                                                 std::vector<int>& ports) {
  if (!list.is_array()) return Error{where + " must be a list"};
  std::vector<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const json& container = list[i];
    if (!container.is_object()) return Error{at + " must be an object"};
    const json* name = member(container, "name");
    if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty()) {
      return Error{at + ".name must be a non-empty string"};
    }
    names.push_back(name->get<std::string>());
    if (const json* port_list = member(container, "ports")) {
      if (!port_list->is_array()) return Error{at + ".ports must be a list"};
      for (const json& port : *port_list) {
        const json* number = port.is_object() ? member(port, "containerPort") : nullptr;
        if (number == nullptr || !number->is_number_integer()) {
          return Error{at + ".ports entries need an integer containerPort"};
        }
        ports.push_back(number->get<int>());
      }
    }
  }
  return names;
}

struct QuantityAnnotation {
  std::string_view key;
  std::string ResourceSettings::*field;
};

}  // namespace

Result<PodView> read_pod(const json& object) {
  if (object.is_null()) return Error{"the review carries no pod object"};
  if (!object.is_object()) return Error{"the pod is not a JSON object"};
  PodView pod;
  if (const json* metadata = member(object, "metadata")) {
    if (!metadata->is_object()) return Error{"metadata must be an object"};
    pod.has_metadata = true;
    if (const json* annotations = member(*metadata, "annotations")) {
      if (!annotations->is_object()) return Error{"metadata.annotations must be an object"};
      pod.has_annotations = true;
      for (const auto& [key, value] : annotations->items()) {
        if (!value.is_string()) {
          return Error{"metadata.annotations[" + key + "] must be a string"};
        }
        pod.annotations.emplace(key, value.get<std::string>());
      }
    }
  }
  const json* spec = member(object, "spec");
  if (spec == nullptr || !spec->is_object()) return Error{"the pod has no spec object"};
  const json* containers = member(*spec, "containers");
  if (containers == nullptr) return Error{"spec.containers is missing"};
  auto names = read_containers(*containers, "spec.containers", pod.container_ports);
  if (!names) return names.error();
  if (names->empty()) return Error{"spec.containers is empty"};
  pod.container_names = std::move(*names);
  if (const json* init = member(*spec, "initContainers")) {
    auto init_names = read_containers(*init, "spec.initContainers", pod.container_ports);
    if (!init_names) return init_names.error();
    pod.init_container_names = std::move(*init_names);
    pod.has_init_containers = true;
  }
  if (const json* volumes = member(*spec, "volumes")) {
    if (!volumes->is_array()) return Error{"spec.volumes must be a list"};
    for (std::size_t i = 0; i < volumes->size(); ++i) {
      const json& volume = (*volumes)[i];
      const json* name = volume.is_object() ? member(volume, "name") : nullptr;
      if (name == nullptr || !name->is_string()) {
        return Error{"spec.volumes[" + std::to_string(i) + "].name must be a string"};
      }
      pod.volume_names.push_back(name->get<std::string>());
    }
    pod.has_volumes = true;
  }
  if (const json* host_network = member(*spec, "hostNetwork")) {
    if (!host_network->is_boolean()) return Error{"spec.hostNetwork must be a boolean"};
    pod.host_network = host_network->get<bool>();
  }
  return pod;
}

bool already_injected(const PodView& pod) {
  const auto has = [](const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  return has(pod.container_names, kProxyContainerName) ||
         has(pod.init_container_names, kProxyContainerName) ||
         has(pod.init_container_names, kInitContainerName);
}

Result<PodOptions> read_pod_options(const PodView& pod, const InjectorConfig& config) {
  PodOptions options;
  options.capture.proxy_uid = config.proxy_uid;
  options.capture.inbound_port = config.inbound_port;
  options.capture.outbound_port = config.outbound_port;
  options.capture.admin_port = config.admin_port;
  options.capture.skip_inbound_ports = config.skip_inbound_ports;
  options.capture.skip_outbound_ports = config.skip_outbound_ports;
  options.capture.skip_subnets = config.skip_subnets;
  options.proxy_resources = config.proxy_resources;
  options.log_level = config.log_level;

  const auto annotation = [&](std::string_view key) -> const std::string* {
    const auto it = pod.annotations.find(std::string(key));
    return it == pod.annotations.end() ? nullptr : &it->second;
  };
  const auto named = [](std::string_view key, const std::string& message) {
    return Error{"annotation " + std::string(key) + ": " + message};
  };

  for (const auto& [key, list] :
       {std::pair{kSkipInboundPortsAnnotation, &options.capture.skip_inbound_ports},
        std::pair{kSkipOutboundPortsAnnotation, &options.capture.skip_outbound_ports}}) {
    if (const std::string* value = annotation(key)) {
      auto ports = capture::parse_port_list(*value);
      if (!ports) return named(key, ports.error().message);
      list->insert(list->end(), ports->begin(), ports->end());
    }
  }
  if (const std::string* value = annotation(kSkipSubnetsAnnotation)) {
    auto subnets = capture::parse_subnet_list(*value);
    if (!subnets) return named(kSkipSubnetsAnnotation, subnets.error().message);
    options.capture.skip_subnets.insert(options.capture.skip_subnets.end(), subnets->begin(),
                                        subnets->end());
  }
  auto valid = capture::validate(options.capture);
  if (!valid) return Error{"capture settings: " + valid.error().message};

  if (const std::string* value = annotation(kOpaquePortsAnnotation)) {
    auto ports = capture::parse_port_list(*value);
    if (!ports) return named(kOpaquePortsAnnotation, ports.error().message);
    options.opaque_ports = capture::format_port_list(*ports);
  }
  static const std::array<QuantityAnnotation, 4> kQuantities{{
      {kProxyCpuRequestAnnotation, &ResourceSettings::cpu_request},
      {kProxyCpuLimitAnnotation, &ResourceSettings::cpu_limit},
      {kProxyMemoryRequestAnnotation, &ResourceSettings::memory_request},
      {kProxyMemoryLimitAnnotation, &ResourceSettings::memory_limit},
  }};
  for (const auto& quantity : kQuantities) {
    if (const std::string* value = annotation(quantity.key)) {
      if (!is_valid_quantity(*value)) {
        return named(quantity.key,
                     "'" + *value + "' is not a Kubernetes quantity like 100m or 64Mi");
      }
      options.proxy_resources.*quantity.field = *value;
    }
  }
  if (const std::string* value = annotation(kLogLevelAnnotation)) {
    if (!parse_log_level(*value)) {
      return named(kLogLevelAnnotation, "'" + *value + "' is not debug, info, warn or error");
    }
    options.log_level = *value;
  }

  // A misspelt knob would otherwise be silently ignored.
  static const std::array<std::string_view, 9> kKnown{
      kSkipInboundPortsAnnotation,   kSkipOutboundPortsAnnotation, kSkipSubnetsAnnotation,
      kOpaquePortsAnnotation,        kProxyCpuRequestAnnotation,   kProxyCpuLimitAnnotation,
      kProxyMemoryRequestAnnotation, kProxyMemoryLimitAnnotation,  kLogLevelAnnotation};
  for (const auto& [key, value] : pod.annotations) {
    if (key.starts_with(kConfigAnnotationPrefix) &&
        std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      options.warnings.push_back("weft: unknown annotation " + key + " ignored");
    }
  }
  return options;
}

}  // namespace weft::webhook
