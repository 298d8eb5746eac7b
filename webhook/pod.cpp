#include "webhook/pod.h"

#include <algorithm>
#include <array>

#include "weft/constants.h"
#include "weft/log.h"

namespace weft::webhook {
namespace {

std::string indexed(std::string_view where, std::size_t index) {
  return std::string(where) + "[" + std::to_string(index) + "]";
}

const nlohmann::json* member(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

// spec.containers or spec.initContainers: the names, and every containerPort
// added to ports.
Result<std::vector<std::string>> read_containers(const nlohmann::json& list, std::string_view where,
                                                 std::vector<int>& ports) {
  if (!list.is_array()) return Error{std::string(where) + " must be a list"};
  std::vector<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = indexed(where, i);
    const nlohmann::json& container = list[i];
    if (!container.is_object()) return Error{at + " must be an object"};
    const nlohmann::json* name = member(container, "name");
    if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty()) {
      return Error{at + ".name must be a non-empty string"};
    }
    names.push_back(name->get<std::string>());
    if (const nlohmann::json* port_list = member(container, "ports")) {
      if (!port_list->is_array()) return Error{at + ".ports must be a list"};
      for (const nlohmann::json& port : *port_list) {
        const nlohmann::json* number = port.is_object() ? member(port, "containerPort") : nullptr;
        if (number == nullptr || !number->is_number_integer()) {
          return Error{at + ".ports entries need an integer containerPort"};
        }
        ports.push_back(number->get<int>());
      }
    }
  }
  return names;
}

// The checks in the order of a walk of the pod in field order.
Result<PodView> read_pod_view(const nlohmann::json& object) {
  if (object.is_null()) return Error{"the review carries no pod object"};
  if (!object.is_object()) return Error{"the pod is not a JSON object"};
  PodView pod;
  if (const nlohmann::json* metadata = member(object, "metadata")) {
    if (!metadata->is_object()) return Error{"metadata must be an object"};
    pod.has_metadata = true;
    if (const nlohmann::json* annotations = member(*metadata, "annotations")) {
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
  const nlohmann::json* spec = member(object, "spec");
  if (spec == nullptr || !spec->is_object()) return Error{"the pod has no spec object"};
  const nlohmann::json* containers = member(*spec, "containers");
  if (containers == nullptr) return Error{"spec.containers is missing"};
  auto names = read_containers(*containers, "spec.containers", pod.container_ports);
  if (!names) return names.error();
  if (names->empty()) return Error{"spec.containers is empty"};
  pod.container_names = std::move(*names);
  if (const nlohmann::json* init = member(*spec, "initContainers")) {
    auto init_names = read_containers(*init, "spec.initContainers", pod.container_ports);
    if (!init_names) return init_names.error();
    pod.init_container_names = std::move(*init_names);
    pod.has_init_containers = true;
  }
  if (const nlohmann::json* volumes = member(*spec, "volumes")) {
    if (!volumes->is_array()) return Error{"spec.volumes must be a list"};
    for (std::size_t i = 0; i < volumes->size(); ++i) {
      const nlohmann::json& volume = (*volumes)[i];
      const nlohmann::json* name = volume.is_object() ? member(volume, "name") : nullptr;
      if (name == nullptr || !name->is_string()) {
        return Error{indexed("spec.volumes", i) + ".name must be a string"};
      }
      pod.volume_names.push_back(name->get<std::string>());
    }
    pod.has_volumes = true;
  }
  if (const nlohmann::json* host_network = member(*spec, "hostNetwork")) {
    if (!host_network->is_boolean()) return Error{"spec.hostNetwork must be a boolean"};
    pod.host_network = host_network->get<bool>();
  }
  return pod;
}

struct QuantityAnnotation {
  std::string_view key;
  std::string ResourceSettings::*field;
};

}  // namespace

PodObject read_pod(const nlohmann::json& object) {
  PodObject result;
  result.pod = read_pod_view(object);
  if (object.is_object()) {
    const auto* metadata = member(object, "metadata");
    const auto* annotations =
        metadata != nullptr && metadata->is_object() ? member(*metadata, "annotations") : nullptr;
    if (annotations != nullptr && annotations->is_object()) {
      const auto* inject = member(*annotations, std::string(kInjectAnnotation).c_str());
      result.opted_out = inject != nullptr && inject->is_string() &&
                         inject->get_ref<const std::string&>() == kInjectDisabled;
    }
  }
  return result;
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
    const auto it = pod.annotations.find(key);
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
      options.customized = true;
    }
  }
  if (const std::string* value = annotation(kSkipSubnetsAnnotation)) {
    auto subnets = capture::parse_subnet_list(*value);
    if (!subnets) return named(kSkipSubnetsAnnotation, subnets.error().message);
    options.capture.skip_subnets.insert(options.capture.skip_subnets.end(), subnets->begin(),
                                        subnets->end());
    options.customized = true;
  }
  auto valid = capture::validate(options.capture);
  if (!valid) return Error{"capture settings: " + valid.error().message};

  if (const std::string* value = annotation(kOpaquePortsAnnotation)) {
    auto ports = capture::parse_port_list(*value);
    if (!ports) return named(kOpaquePortsAnnotation, ports.error().message);
    options.opaque_ports = capture::format_port_list(*ports);
    options.customized = true;
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
      options.customized = true;
    }
  }
  if (const std::string* value = annotation(kLogLevelAnnotation)) {
    if (!parse_log_level(*value)) {
      return named(kLogLevelAnnotation, "'" + *value + "' is not debug, info, warn or error");
    }
    options.log_level = *value;
    options.customized = true;
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
