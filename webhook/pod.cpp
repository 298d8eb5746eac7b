#include "webhook/pod.h"

#include <openssl/evp.h>

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

bool reserved_name(std::string_view name) {
  return name == kProxyContainerName || name == kInitContainerName;
}

// securityContext.runAsUser of a container or the pod, if set.
Result<std::optional<std::int64_t>> read_run_as_user(const nlohmann::json& owner,
                                                     const std::string& where) {
  const nlohmann::json* context = member(owner, "securityContext");
  if (context == nullptr) return std::optional<std::int64_t>{};
  if (!context->is_object()) return Error{where + ".securityContext must be an object"};
  const nlohmann::json* user = member(*context, "runAsUser");
  if (user == nullptr) return std::optional<std::int64_t>{};
  if (!user->is_number_integer()) {
    return Error{where + ".securityContext.runAsUser must be an integer"};
  }
  return std::optional<std::int64_t>{user->get<std::int64_t>()};
}

// securityContext.privileged and capabilities.add of a container into its view.
Result<bool> read_privileges(const nlohmann::json& container, const std::string& where,
                             ContainerView& view) {
  const nlohmann::json* context = member(container, "securityContext");
  if (context == nullptr || !context->is_object()) return true;  // read_run_as_user checked it
  if (const nlohmann::json* privileged = member(*context, "privileged")) {
    if (!privileged->is_boolean()) {
      return Error{where + ".securityContext.privileged must be a boolean"};
    }
    view.privileged = privileged->get<bool>();
  }
  const nlohmann::json* capabilities = member(*context, "capabilities");
  if (capabilities == nullptr) return true;
  if (!capabilities->is_object()) {
    return Error{where + ".securityContext.capabilities must be an object"};
  }
  const nlohmann::json* add = member(*capabilities, "add");
  if (add == nullptr) return true;
  if (!add->is_array()) return Error{where + ".securityContext.capabilities.add must be a list"};
  for (const nlohmann::json& capability : *add) {
    if (!capability.is_string()) {
      return Error{where + ".securityContext.capabilities.add must hold strings"};
    }
    view.added_capabilities.push_back(capability.get<std::string>());
  }
  return true;
}

// The volumeMounts of weft-init or weft-proxy, canonical.
Result<std::vector<MountView>> read_mounts(const nlohmann::json& container,
                                           const std::string& where) {
  std::vector<MountView> views;
  const nlohmann::json* mounts = member(container, "volumeMounts");
  if (mounts == nullptr) return views;
  if (!mounts->is_array()) return Error{where + ".volumeMounts must be a list"};
  for (std::size_t i = 0; i < mounts->size(); ++i) {
    const nlohmann::json& mount = (*mounts)[i];
    const nlohmann::json* name = mount.is_object() ? member(mount, "name") : nullptr;
    const nlohmann::json* path = mount.is_object() ? member(mount, "mountPath") : nullptr;
    if (name == nullptr || !name->is_string() || path == nullptr || !path->is_string()) {
      return Error{indexed(where + ".volumeMounts", i) + " needs a string name and mountPath"};
    }
    views.push_back({name->get<std::string>(), path->get<std::string>(), canonical_mount(mount)});
  }
  return views;
}

// spec.containers, initContainers or ephemeralContainers: the names, every containerPort added
// to ports, and each container's view added to views.
Result<std::vector<std::string>> read_containers(const nlohmann::json& list, std::string_view where,
                                                 std::vector<int>& ports,
                                                 std::vector<ContainerView>& views) {
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
    ContainerView view;
    view.name = names.back();
    view.init = where == "spec.initContainers";
    view.ephemeral = where == "spec.ephemeralContainers";
    auto user = read_run_as_user(container, at);
    if (!user) return user.error();
    view.run_as_user = *user;
    auto privileges = read_privileges(container, at, view);
    if (!privileges) return privileges.error();
    if (reserved_name(view.name)) {
      view.seal_fields = seal_fields(container);
      auto mounts = read_mounts(container, at);
      if (!mounts) return mounts.error();
      view.volume_mounts = std::move(*mounts);
    }
    views.push_back(std::move(view));
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
  auto names = read_containers(*containers, "spec.containers", pod.container_ports, pod.containers);
  if (!names) return names.error();
  if (names->empty()) return Error{"spec.containers is empty"};
  pod.container_names = std::move(*names);
  if (const nlohmann::json* init = member(*spec, "initContainers")) {
    auto init_names =
        read_containers(*init, "spec.initContainers", pod.container_ports, pod.containers);
    if (!init_names) return init_names.error();
    pod.init_container_names = std::move(*init_names);
    pod.has_init_containers = true;
  }
  // Only in an UPDATE of pods/ephemeralcontainers (the API server refuses them
  // at CREATE); their names are not the pod's container names.
  if (const nlohmann::json* ephemeral = member(*spec, "ephemeralContainers")) {
    std::vector<int> no_ports;  // an ephemeral container may not declare ports
    auto ephemeral_names =
        read_containers(*ephemeral, "spec.ephemeralContainers", no_ports, pod.containers);
    if (!ephemeral_names) return ephemeral_names.error();
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
      if (pod.volume_names.back().starts_with(kReservedVolumePrefix)) {
        pod.reserved_volumes.push_back({pod.volume_names.back(), canonical_volume(volume)});
      }
    }
    pod.has_volumes = true;
  }
  if (const nlohmann::json* host_network = member(*spec, "hostNetwork")) {
    if (!host_network->is_boolean()) return Error{"spec.hostNetwork must be a boolean"};
    pod.host_network = host_network->get<bool>();
  }
  auto user = read_run_as_user(*spec, "spec");
  if (!user) return user.error();
  pod.run_as_user = *user;
  pod.probes = scan_probes(*spec);
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

bool claims_injected(const PodView& pod) {
  return pod.annotations.contains(kInjectionSealAnnotation) ||
         std::any_of(pod.containers.begin(), pod.containers.end(),
                     [](const ContainerView& c) { return reserved_name(c.name); });
}

std::string seal_fields(const nlohmann::json& container) {
  nlohmann::json fields = nlohmann::json::object();
  if (!container.is_object()) return fields.dump();
  for (const char* key : {"image", "command", "args", "workingDir", "env", "envFrom",
                          "securityContext", "restartPolicy", "lifecycle"}) {
    if (const nlohmann::json* value = member(container, key)) fields[key] = *value;
  }
  // The API server defaults fieldRef.apiVersion to v1 after the patch.
  if (auto env = fields.find("env"); env != fields.end() && env->is_array()) {
    for (auto& variable : *env) {
      if (!variable.is_object()) continue;
      auto from = variable.find("valueFrom");
      if (from == variable.end() || !from->is_object()) continue;
      auto field = from->find("fieldRef");
      if (field == from->end() || !field->is_object()) continue;
      if (auto version = field->find("apiVersion"); version != field->end() && *version == "v1") {
        field->erase(version);
      }
    }
  }
  return fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

std::string canonical_dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The API server's default file mode of configMap, secret, downwardAPI and
// projected volumes (0644).
constexpr int kDefaultMode = 420;

void drop_default_mode(nlohmann::json& source) {
  if (!source.is_object()) return;
  if (auto mode = source.find("defaultMode"); mode != source.end() && *mode == kDefaultMode) {
    source.erase(mode);
  }
}

// items[].fieldRef.apiVersion v1, as the API server defaults it.
void drop_field_ref_versions(nlohmann::json& items) {
  if (!items.is_array()) return;
  for (auto& item : items) {
    if (!item.is_object()) continue;
    auto field = item.find("fieldRef");
    if (field == item.end() || !field->is_object()) continue;
    if (auto version = field->find("apiVersion"); version != field->end() && *version == "v1") {
      field->erase(version);
    }
  }
}

}  // namespace

std::string canonical_volume(const nlohmann::json& volume) {
  nlohmann::json copy = volume;
  if (!copy.is_object()) return canonical_dump(copy);
  for (const char* kind : {"configMap", "secret", "projected"}) {
    if (auto source = copy.find(kind); source != copy.end()) drop_default_mode(*source);
  }
  if (auto downward = copy.find("downwardAPI"); downward != copy.end() && downward->is_object()) {
    drop_default_mode(*downward);
    if (auto items = downward->find("items"); items != downward->end()) {
      drop_field_ref_versions(*items);
    }
  }
  return canonical_dump(copy);
}

std::string canonical_mount(const nlohmann::json& mount) {
  nlohmann::json copy = mount;
  if (copy.is_object()) {
    if (auto read_only = copy.find("readOnly"); read_only != copy.end() && *read_only == false) {
      copy.erase(read_only);
    }
  }
  return canonical_dump(copy);
}

std::string injection_seal(std::string_view init_fields, std::string_view proxy_fields) {
  std::string text;
  text.reserve(init_fields.size() + proxy_fields.size() + 1);
  text += init_fields;
  text += '\n';
  text += proxy_fields;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string seal = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    seal += kHex[digest[i] >> 4];
    seal += kHex[digest[i] & 0xf];
  }
  return seal;
}

Result<bool> check_port_skip(const std::vector<capture::PortRange>& ports,
                             const std::vector<capture::PortRange>& allowed,
                             const InjectorConfig& config, std::string_view allow_key) {
  // Ports outside the allow-list, by range arithmetic (at most 64 x 64 ranges).
  std::size_t outside = 0;
  const PortSet wanted(ports);
  const PortSet allow(allowed);
  for (const auto& range : wanted.ranges()) {
    std::size_t inside = 0;
    for (const auto& a : allow.ranges()) {
      const auto first = std::max(range.first, a.first);
      const auto last = std::min(range.last, a.last);
      if (first <= last) inside += last - first + 1u;
    }
    outside += range.last - range.first + 1u - inside;
  }
  if (outside > config.pod_skip_max_ports) {
    return Error{"skips " + std::to_string(outside) +
                 " ports outside the cluster's allow-list, more than the " +
                 std::to_string(config.pod_skip_max_ports) +
                 " a pod may skip on its own; a cluster administrator can allow them with " +
                 std::string(allow_key) + " in the webhook's configuration"};
  }
  return true;
}

namespace {

bool contains(const capture::Ipv4Subnet& outer, const capture::Ipv4Subnet& inner) {
  const std::uint32_t mask =
      outer.prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - outer.prefix_length);
  return outer.prefix_length <= inner.prefix_length && (inner.address & mask) == outer.address;
}

std::uint64_t addresses(const capture::Ipv4Subnet& subnet) {
  return std::uint64_t{1} << (32 - subnet.prefix_length);
}

// The subnets none of the others contains: prefixes are aligned, so two either
// nest or do not meet, and these cover the same addresses once each.
std::vector<capture::Ipv4Subnet> outermost(std::vector<capture::Ipv4Subnet> subnets) {
  std::sort(subnets.begin(), subnets.end(),
            [](const auto& a, const auto& b) { return a.prefix_length < b.prefix_length; });
  std::vector<capture::Ipv4Subnet> kept;
  for (const auto& subnet : subnets) {
    if (std::none_of(kept.begin(), kept.end(),
                     [&](const auto& k) { return contains(k, subnet); })) {
      kept.push_back(subnet);
    }
  }
  return kept;
}

}  // namespace

Result<bool> check_subnet_skip(const std::vector<capture::Ipv4Subnet>& subnets,
                               const InjectorConfig& config) {
  // Addresses outside the allow-list, summed over every entry (at most 64 x 64).
  const auto allowed = outermost(config.pod_skip_allowed_subnets);
  std::uint64_t outside = 0;
  for (const auto& subnet : outermost(subnets)) {
    if (std::any_of(allowed.begin(), allowed.end(),
                    [&](const auto& a) { return contains(a, subnet); })) {
      continue;
    }
    outside += addresses(subnet);
    for (const auto& a : allowed) {
      if (contains(subnet, a)) outside -= addresses(a);
    }
  }
  const int prefix = config.pod_skip_min_prefix_length;
  const std::uint64_t budget = std::uint64_t{1} << (32 - prefix);
  if (outside > budget) {
    return Error{"subnets " + capture::format_subnet_list(subnets) + " skip " +
                 std::to_string(outside) +
                 " addresses outside the cluster's allow-list, more than the " +
                 std::to_string(budget) + " (one /" + std::to_string(prefix) +
                 ") a pod may skip on its own; a cluster administrator can allow them with "
                 "podSkipAllowedSubnets in the webhook's configuration"};
  }
  return true;
}

Result<bool> check_run_as_user(const PodView& pod, std::uint32_t uid, bool skip_injected) {
  for (const auto& container : pod.containers) {
    if (skip_injected && reserved_name(container.name)) continue;
    const auto user = container.run_as_user ? container.run_as_user : pod.run_as_user;
    if (user && *user == static_cast<std::int64_t>(uid)) {
      return Error{std::string(container.ephemeral ? "ephemeral container '"
                               : container.init    ? "init container '"
                                                   : "container '") +
                   container.name + "' runs as UID " + std::to_string(uid) +
                   ", the proxy's UID, whose traffic capture lets through; run it as another "
                   "UID (securityContext.runAsUser" +
                   (container.run_as_user ? "" : ", set on the pod") + ")"};
    }
  }
  return true;
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

  struct PortSkip {
    std::string_view key;
    std::vector<capture::PortRange>* list;
    const std::vector<capture::PortRange>* allowed;
    std::string_view allow_key;
    std::string_view kind;
  };
  for (const auto& skip :
       {PortSkip{kSkipInboundPortsAnnotation, &options.capture.skip_inbound_ports,
                 &config.pod_skip_allowed_inbound_ports, "podSkipAllowedInboundPorts",
                 "skip_inbound_ports"},
        PortSkip{kSkipOutboundPortsAnnotation, &options.capture.skip_outbound_ports,
                 &config.pod_skip_allowed_outbound_ports, "podSkipAllowedOutboundPorts",
                 "skip_outbound_ports"}}) {
    if (const std::string* value = annotation(skip.key)) {
      auto ports = capture::parse_port_list(*value);
      if (!ports) return named(skip.key, ports.error().message);
      auto allowed = check_port_skip(*ports, *skip.allowed, config, skip.allow_key);
      if (!allowed) return named(skip.key, allowed.error().message);
      skip.list->insert(skip.list->end(), ports->begin(), ports->end());
      if (!ports->empty()) options.opt_outs.push_back({std::string(skip.kind), *value});
      options.customized = true;
    }
  }
  if (const std::string* value = annotation(kSkipSubnetsAnnotation)) {
    auto subnets = capture::parse_subnet_list(*value);
    if (!subnets) return named(kSkipSubnetsAnnotation, subnets.error().message);
    auto allowed = check_subnet_skip(*subnets, config);
    if (!allowed) return named(kSkipSubnetsAnnotation, allowed.error().message);
    options.capture.skip_subnets.insert(options.capture.skip_subnets.end(), subnets->begin(),
                                        subnets->end());
    if (!subnets->empty()) options.opt_outs.push_back({"skip_subnets", *value});
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

  // The app's HTTP probes pass a Strict port in plaintext; those that cannot
  // are said, since under Strict the kubelet would find them refused.
  if (!pod.probes.routes.empty()) {
    options.inbound_probes = format_probe_routes(pod.probes.routes);
    options.customized = true;
  }
  for (const std::string& skipped : pod.probes.skipped) {
    options.warnings.push_back("weft: probe " + skipped +
                               ": not exempted from mTLS, a Strict MeshPolicy refuses it");
  }
  if (pod.probes.more_skipped != 0) {
    options.warnings.push_back("weft: " + std::to_string(pod.probes.more_skipped) +
                               " more probes not exempted from mTLS");
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
