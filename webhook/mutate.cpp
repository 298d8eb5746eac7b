#include "webhook/mutate.h"

#include <algorithm>

#include "webhook/json_text.h"
#include "weft/constants.h"

namespace weft::webhook {
namespace {

using nlohmann::json;

json resources_json(const ResourceSettings& settings) {
  json requests = json::object();
  json limits = json::object();
  if (!settings.cpu_request.empty()) requests["cpu"] = settings.cpu_request;
  if (!settings.memory_request.empty()) requests["memory"] = settings.memory_request;
  if (!settings.cpu_limit.empty()) limits["cpu"] = settings.cpu_limit;
  if (!settings.memory_limit.empty()) limits["memory"] = settings.memory_limit;
  json resources = json::object();
  if (!requests.empty()) resources["requests"] = std::move(requests);
  if (!limits.empty()) resources["limits"] = std::move(limits);
  return resources;
}

json field_env(std::string_view name, std::string_view field_path) {
  return {{"name", name}, {"valueFrom", {{"fieldRef", {{"fieldPath", field_path}}}}}};
}

json value_env(std::string_view name, std::string_view value) {
  return {{"name", name}, {"value", value}};
}

json ready_probe(const InjectorConfig& config, int period_seconds, int failure_threshold) {
  return {{"httpGet", {{"path", config.ready_path}, {"port", config.admin_port}}},
          {"periodSeconds", period_seconds},
          {"failureThreshold", failure_threshold}};
}

json injected_volumes_list(const InjectorConfig& config) {
  return json::array({
      // optional: a pod created before the operator wrote its namespace's config
      // still starts; the proxy waits for the file and reloads it when it appears.
      {{"name", kProxyConfigVolume},
       {"configMap", {{"name", kProxyConfigMapName}, {"optional", true}}}},
      {{"name", kIdentityTokenVolume},
       {"projected",
        {{"sources",
          json::array({{{"serviceAccountToken",
                         {{"audience", kIdentityTokenAudience},
                          {"expirationSeconds", config.identity_token_expiration_seconds},
                          {"path", kIdentityTokenFile}}}}})}}}},
      {{"name", kXtablesLockVolume}, {"emptyDir", json::object()}},
      // The pod's labels, kept current by the kubelet: the proxy selects the
      // MeshPolicies of its pod with them (docs/crds.md).
      {{"name", kPodInfoVolumeName},
       {"downwardAPI",
        {{"items", json::array({{{"path", kPodInfoLabelsFile},
                                 {"fieldRef", {{"fieldPath", "metadata.labels"}}}}})}}}},
  });
}

json injected_annotations_object(const InjectorConfig& config, bool native) {
  return {{kInjectedAnnotation,
           std::string(kInitContainerName) + "," + std::string(kProxyContainerName)},
          {kSidecarModeAnnotation, native ? "native" : "classic"},
          {kProxyVersionAnnotation, config.proxy_version}};
}

MutateResult deny(std::string message) {
  MutateResult result;
  result.result = ReviewResult::kDenied;
  result.reason = message;
  result.outcome.allowed = false;
  result.outcome.denial_code = 400;
  result.outcome.denial_message = "weft-webhook cannot inject the proxy into this pod: " + message +
                                  " (fix it, or opt the pod out with the annotation " +
                                  std::string(kInjectAnnotation) + ": " +
                                  std::string(kInjectDisabled) + ")";
  return result;
}

MutateResult allow_unchanged(ReviewResult kind, std::string reason) {
  MutateResult result;
  result.result = kind;
  result.reason = std::move(reason);
  return result;
}

// One "add" operation, as nlohmann would have serialised {"op", "path", "value"}.
void append_add(std::string& patch, std::string_view path, std::string_view value) {
  patch += patch.size() == 1 ? R"({"op":"add","path":)" : R"(,{"op":"add","path":)";
  append_json_string(patch, path);
  patch += R"(,"value":)";
  patch += value;
  patch += '}';
}

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Where the API server's ServiceAccount admission mounts the pod's API token
// into every container, weft-init and weft-proxy too when it runs again after
// the injection (reinvocation), or in a copy of a running injected pod.
constexpr std::string_view kServiceAccountMountPath =
    "/var/run/secrets/kubernetes.io/serviceaccount";

std::vector<MountView> mount_views(const json& container) {
  std::vector<MountView> views;
  for (const auto& mount : container.at("volumeMounts")) {
    views.push_back({mount.at("name").get<std::string>(), mount.at("mountPath").get<std::string>(),
                     canonical_mount(mount)});
  }
  return views;
}

// The container's mounts are the injection's, in order, besides the API
// token's: another mount could shadow the files the proxy reads.
Result<bool> check_mounts(const ContainerView& container, const std::vector<MountView>& expected) {
  std::vector<MountView> ours;
  for (const auto& mount : container.volume_mounts) {
    if (mount.mount_path == kServiceAccountMountPath &&
        !mount.name.starts_with(kReservedVolumePrefix)) {
      continue;
    }
    ours.push_back(mount);
  }
  if (ours != expected) {
    return Error{"the volumeMounts of its " + container.name +
                 " are not the ones the webhook injects"};
  }
  return true;
}

// Each volume the injection adds is in the pod once, as injected: the proxy
// reads its configuration, its identity token and its pod's labels from them.
Result<bool> check_volumes(const PodView& pod, const std::vector<VolumeView>& expected) {
  for (const auto& want : expected) {
    const VolumeView* found = nullptr;
    for (const auto& volume : pod.reserved_volumes) {
      if (volume.name != want.name) continue;
      if (found != nullptr) return Error{"it has two volumes named " + want.name};
      found = &volume;
    }
    if (found == nullptr) return Error{"it has no volume " + want.name};
    if (found->canonical != want.canonical) {
      return Error{"its volume " + want.name + " is not the one the webhook injects"};
    }
  }
  return true;
}

// Things in the pod that the injection would collide with.
Result<bool> check_conflicts(const PodView& pod, const InjectorConfig& config) {
  for (const int port : pod.container_ports) {
    if (port == config.inbound_port || port == config.outbound_port || port == config.admin_port) {
      return Error{"container port " + std::to_string(port) + " is reserved for " +
                   std::string(kProxyContainerName)};
    }
  }
  for (const auto& name : pod.volume_names) {
    for (const auto ours :
         {kProxyConfigVolume, kIdentityTokenVolume, kXtablesLockVolume, kPodInfoVolumeName}) {
      if (name == ours) return Error{"the pod already has a volume named " + name};
    }
  }
  return true;
}

}  // namespace

std::string_view to_string(ReviewResult result) {
  switch (result) {
    case ReviewResult::kInjected:
      return "injected";
    case ReviewResult::kSkipped:
      return "skipped";
    case ReviewResult::kDenied:
      return "denied";
    case ReviewResult::kIgnored:
      return "ignored";
  }
  return "unknown";
}

std::string escape_json_pointer(std::string_view token) {
  std::string escaped;
  escaped.reserve(token.size());
  for (const char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

json proxy_container(const PodOptions& options, const InjectorConfig& config, bool native) {
  json env = json::array({
      field_env(kEnvPodName, "metadata.name"),
      field_env(kEnvPodNamespace, "metadata.namespace"),
      field_env(kEnvServiceAccount, "spec.serviceAccountName"),
      field_env(kEnvPodIp, "status.podIP"),
      value_env(kEnvLogLevel, options.log_level),
      value_env(kEnvInboundPort, std::to_string(config.inbound_port)),
      value_env(kEnvOutboundPort, std::to_string(config.outbound_port)),
      value_env(kEnvAdminPort, std::to_string(config.admin_port)),
      // Its certificate: where to ask, and the token that proves its
      // ServiceAccount. The key and the certificate stay in its memory.
      value_env(kEnvIdentityAddress, config.identity_address),
      value_env(kEnvIdentityTokenFile,
                std::string(kIdentityMountPath) + "/" + std::string(kIdentityTokenFile)),
      value_env(kEnvPodLabelsFile,
                std::string(kPodInfoMountPath) + "/" + std::string(kPodInfoLabelsFile)),
  });
  if (!options.opaque_ports.empty())
    env.push_back(value_env(kEnvOpaquePorts, options.opaque_ports));
  // The kubelet's probes, let through in plaintext under a Strict MeshPolicy.
  if (!options.inbound_probes.empty())
    env.push_back(value_env(kEnvInboundProbes, options.inbound_probes));
  json container = {
      {"name", kProxyContainerName},
      {"image", config.proxy_image},
      {"imagePullPolicy", config.image_pull_policy},
      {"env", std::move(env)},
      {"ports", json::array({{{"name", "weft-admin"}, {"containerPort", config.admin_port}},
                             {{"name", "weft-inbound"}, {"containerPort", config.inbound_port}}})},
      {"securityContext",
       {{"runAsUser", config.proxy_uid},
        {"runAsGroup", config.proxy_uid},
        {"runAsNonRoot", true},
        {"readOnlyRootFilesystem", true},
        {"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", json::array({"ALL"})}}},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"resources", resources_json(options.proxy_resources)},
      {"volumeMounts",
       json::array(
           {{{"name", kProxyConfigVolume},
             {"mountPath", kProxyConfigMountPath},
             {"readOnly", true}},
            {{"name", kIdentityTokenVolume}, {"mountPath", kIdentityMountPath}, {"readOnly", true}},
            {{"name", kPodInfoVolumeName}, {"mountPath", kPodInfoMountPath}, {"readOnly", true}}})},
      {"readinessProbe", ready_probe(config, 5, 3)},
  };
  if (native) {
    // An init container that keeps running: the kubelet starts the next init
    // containers and the app only once the startup probe passes, and a Job's pod
    // completes when its app containers end.
    container["restartPolicy"] = "Always";
    container["startupProbe"] = ready_probe(config, 1, 120);
  } else {
    // The kubelet runs postStart to completion before starting the next container,
    // so the app starts after the proxy is ready.
    container["lifecycle"] = {
        {"postStart", {{"exec", {{"command", config.classic_wait_command}}}}}};
  }
  return container;
}

json init_container(const PodOptions& options, const InjectorConfig& config) {
  const auto& capture = options.capture;
  json args = json::array({"--proxy-uid", std::to_string(capture.proxy_uid), "--inbound-port",
                           std::to_string(capture.inbound_port), "--outbound-port",
                           std::to_string(capture.outbound_port), "--admin-port",
                           std::to_string(capture.admin_port)});
  const auto add_list = [&](const char* flag, const std::string& value) {
    if (value.empty()) return;
    args.push_back(flag);
    args.push_back(value);
  };
  add_list("--skip-inbound-ports", capture::format_port_list(capture.skip_inbound_ports));
  add_list("--skip-outbound-ports", capture::format_port_list(capture.skip_outbound_ports));
  add_list("--skip-subnets", capture::format_subnet_list(capture.skip_subnets));
  return {
      {"name", kInitContainerName},
      {"image", config.init_image},
      {"imagePullPolicy", config.image_pull_policy},
      {"args", std::move(args)},
      // iptables needs root in the pod's network namespace, but only these two
      // capabilities; nothing else of root's is kept.
      {"securityContext",
       {{"runAsUser", 0},
        {"runAsNonRoot", false},
        {"readOnlyRootFilesystem", true},
        {"allowPrivilegeEscalation", false},
        {"capabilities",
         {{"add", json::array({"NET_ADMIN", "NET_RAW"})}, {"drop", json::array({"ALL"})}}},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"resources", resources_json(config.init_resources)},
      {"volumeMounts", json::array({{{"name", kXtablesLockVolume}, {"mountPath", "/run"}}})},
  };
}

json injected_volumes(const InjectorConfig& config) {
  return injected_volumes_list(config);
}

json injected_annotations(const InjectorConfig& config, bool native) {
  return injected_annotations_object(config, native);
}

Injector::Injector(InjectorConfig config)
    : config_(std::move(config)), native_(config_.sidecar_mode != SidecarMode::kClassic) {
  if (const auto defaults = read_pod_options(PodView{}, config_)) {
    have_defaults_ = true;
    const json init = init_container(*defaults, config_);
    const json proxy = proxy_container(*defaults, config_, native_);
    default_init_ = dump(init);
    default_proxy_ = dump(proxy);
    default_seal_ = injection_seal(seal_fields(init), seal_fields(proxy));
    default_init_mounts_ = mount_views(init);
    default_proxy_mounts_ = mount_views(proxy);
  }
  const json volumes = injected_volumes_list(config_);
  volumes_ = dump(volumes);
  for (const auto& volume : volumes) {
    volume_items_.push_back(dump(volume));
    expected_volumes_.push_back({volume.at("name").get<std::string>(), canonical_volume(volume)});
  }
  const json annotations = injected_annotations_object(config_, native_);
  // The seal differs per pod; the rest of the object is fixed.
  static constexpr std::string_view kPlaceholder = "weft-seal-placeholder";
  json with_seal = annotations;
  with_seal[std::string(kInjectionSealAnnotation)] = std::string(kPlaceholder);
  const std::string text = dump(with_seal);
  const std::string value = "\"" + std::string(kPlaceholder) + "\"";
  const auto at = text.find(":" + value) + 1;
  annotations_prefix_ = text.substr(0, at);
  annotations_suffix_ = text.substr(at + value.size());
  for (const auto& [key, value] : annotations.items()) {
    annotation_items_.emplace_back("/metadata/annotations/" + escape_json_pointer(key),
                                   dump(value));
  }
}

std::string Injector::build_patch(const PodView& pod, const PodOptions& options) const {
  const bool cached = have_defaults_ && !options.customized;
  std::string init = default_init_;
  std::string proxy = default_proxy_;
  std::string seal = default_seal_;
  if (!cached) {
    const json init_json = init_container(options, config_);
    const json proxy_json = proxy_container(options, config_, native_);
    init = dump(init_json);
    proxy = dump(proxy_json);
    seal = injection_seal(seal_fields(init_json), seal_fields(proxy_json));
  }
  std::string seal_value;
  append_json_string(seal_value, seal);
  const std::string annotations = annotations_prefix_ + seal_value + annotations_suffix_;

  std::string patch;
  patch.reserve(init.size() + proxy.size() + volumes_.size() + annotations.size() + 512);
  patch += '[';
  // weft-init runs first of all init containers, so every later one (and the
  // native proxy right after it) already has capture in place.
  if (!pod.has_init_containers) {
    append_add(patch, "/spec/initContainers",
               native_ ? "[" + init + "," + proxy + "]" : "[" + init + "]");
  } else {
    append_add(patch, "/spec/initContainers/0", init);
    if (native_) append_add(patch, "/spec/initContainers/1", proxy);
  }
  if (!native_) append_add(patch, "/spec/containers/0", proxy);

  if (!pod.has_volumes) {
    append_add(patch, "/spec/volumes", volumes_);
  } else {
    for (const auto& volume : volume_items_) append_add(patch, "/spec/volumes/-", volume);
  }

  if (!pod.has_metadata) {
    append_add(patch, "/metadata", R"({"annotations":)" + annotations + "}");
  } else if (!pod.has_annotations) {
    append_add(patch, "/metadata/annotations", annotations);
  } else {
    // "add" on an existing key replaces its value, as wanted.
    for (const auto& [path, value] : annotation_items_) append_add(patch, path, value);
    append_add(patch, "/metadata/annotations/" + escape_json_pointer(kInjectionSealAnnotation),
               seal_value);
  }
  patch += ']';
  return patch;
}

Result<bool> Injector::verify_injected(const PodView& pod) const {
  const ContainerView* init = nullptr;
  const ContainerView* proxy = nullptr;
  for (const auto& container : pod.containers) {
    const bool is_init = container.name == kInitContainerName;
    if (!is_init && container.name != kProxyContainerName) continue;
    const ContainerView*& slot = is_init ? init : proxy;
    if (slot != nullptr) return Error{"it has two containers named " + container.name};
    if (is_init && !container.init) {
      return Error{"it has a regular container named " + container.name};
    }
    slot = &container;
  }
  if (init == nullptr || proxy == nullptr) {
    return Error{"it has " + std::string(init != nullptr ? "a weft-init but no weft-proxy"
                                         : proxy != nullptr
                                             ? "a weft-proxy but no weft-init"
                                             : "the seal annotation but neither container")};
  }
  const auto seal = pod.annotations.find(kInjectionSealAnnotation);
  if (seal == pod.annotations.end()) {
    return Error{"its weft-init and weft-proxy carry no " + std::string(kInjectionSealAnnotation) +
                 " annotation"};
  }
  const std::string actual = injection_seal(init->seal_fields, proxy->seal_fields);
  if (seal->second != actual) {
    return Error{"its weft-init or weft-proxy was changed after injection (the " +
                 std::string(kInjectionSealAnnotation) + " annotation does not match them)"};
  }
  auto options = read_pod_options(pod, config_);
  if (!options) return options.error();
  const bool cached = !options->customized && have_defaults_;
  std::string expected = default_seal_;
  const std::vector<MountView>* init_mounts = &default_init_mounts_;
  const std::vector<MountView>* proxy_mounts = &default_proxy_mounts_;
  std::vector<MountView> built_init_mounts;
  std::vector<MountView> built_proxy_mounts;
  if (!cached) {
    const json init_json = init_container(*options, config_);
    const json proxy_json = proxy_container(*options, config_, native_);
    expected = injection_seal(seal_fields(init_json), seal_fields(proxy_json));
    built_init_mounts = mount_views(init_json);
    built_proxy_mounts = mount_views(proxy_json);
    init_mounts = &built_init_mounts;
    proxy_mounts = &built_proxy_mounts;
  }
  if (actual != expected) {
    return Error{
        "its weft-init and weft-proxy are not the ones this webhook injects into "
        "this pod (another Weft version or configuration)"};
  }
  // Not sealed (the seal predates them): compared with the injection instead.
  auto mounts = check_mounts(*init, *init_mounts);
  if (mounts) mounts = check_mounts(*proxy, *proxy_mounts);
  if (!mounts) return mounts.error();
  return check_volumes(pod, expected_volumes_);
}

MutateResult mutate(const AdmissionRequest& request, const InjectorConfig& config, Scope scope) {
  return Injector(config).mutate(request, scope);
}

MutateResult Injector::mutate(const AdmissionRequest& request, Scope scope) const {
  if (request.kind != "Pod" || !request.kind_group.empty()) {
    auto result = allow_unchanged(ReviewResult::kIgnored, "not a pod: " + request.kind);
    result.outcome.warnings.push_back("weft-webhook only mutates pods, not " + request.kind +
                                      "; check the MutatingWebhookConfiguration rules");
    return result;
  }
  if (request.operation == "UPDATE" && request.sub_resource == "ephemeralcontainers") {
    return review_ephemeral(request);
  }
  if (request.operation != "CREATE" || !request.sub_resource.empty()) {
    return allow_unchanged(ReviewResult::kIgnored,
                           "not a pod CREATE: " + request.operation + " " + request.sub_resource);
  }
  // Out of scope whatever its shape: a pod we would not inject is never denied.
  if (is_system_namespace(request.namespace_name)) {
    return allow_unchanged(ReviewResult::kSkipped,
                           "namespace " + request.namespace_name + " is never injected");
  }
  const auto& pod = request.object.pod;
  if (!pod) {
    if (request.object.opted_out) {
      auto result =
          allow_unchanged(ReviewResult::kSkipped, "pod annotation weft.io/inject=disabled");
      result.opt_outs.push_back({"inject_disabled", ""});
      return result;
    }
    return deny(pod.error().message);
  }
  auto decision = decide(*pod, request.namespace_name, scope);
  if (!decision) return deny(decision.error().message);
  if (decision->claims_injected) {
    // The names weft-init and weft-proxy are reserved: a pod carrying them is
    // either what this webhook injected or refused, never taken as meshed.
    auto verified = verify_injected(*pod);
    if (!verified) {
      return deny("the container names " + std::string(kInitContainerName) + " and " +
                  std::string(kProxyContainerName) + " are reserved for the injection, and " +
                  verified.error().message + "; remove them and let the webhook inject");
    }
    auto uid = check_run_as_user(*pod, config_.proxy_uid, true);
    if (!uid) return deny(uid.error().message);
    // A copy of an injected pod's YAML with a privileged container added. Not
    // counted when allowed: a reinvocation would count the injection's grant
    // twice (the skip annotations are likewise counted at injection only).
    auto granted =
        check_network_admin(*pod, request.namespace_name, config_, ContainerSet::kInjectedPod);
    if (!granted) return deny(granted.error().message);
    return allow_unchanged(ReviewResult::kSkipped, decision->reason);
  }
  if (!decision->inject) {
    auto result = allow_unchanged(ReviewResult::kSkipped, decision->reason);
    if (!decision->opt_out.empty()) result.opt_outs.push_back({decision->opt_out, ""});
    return result;
  }
  auto conflicts = check_conflicts(*pod, config_);
  if (!conflicts) return deny(conflicts.error().message);
  auto uid = check_run_as_user(*pod, config_.proxy_uid, false);
  if (!uid) return deny(uid.error().message);
  auto granted = check_network_admin(*pod, request.namespace_name, config_, ContainerSet::kPod);
  if (!granted) return deny(granted.error().message);
  auto options = read_pod_options(*pod, config_);
  if (!options) return deny(options.error().message);

  MutateResult result;
  result.result = ReviewResult::kInjected;
  result.reason = decision->reason;
  result.outcome.patch = build_patch(*pod, *options);
  result.outcome.warnings = std::move(options->warnings);
  result.opt_outs = std::move(options->opt_outs);
  result.opt_outs.insert(result.opt_outs.end(), granted->begin(), granted->end());
  result.probes_not_exempted = pod->probes.skipped.size() + pod->probes.more_skipped;
  return result;
}

MutateResult Injector::mutate_pod(const nlohmann::json& pod, std::string_view namespace_name,
                                  Scope scope) const {
  AdmissionRequest request;
  request.kind = "Pod";
  request.kind_version = "v1";
  request.operation = "CREATE";
  request.namespace_name = std::string(namespace_name);
  request.object = read_pod(pod);
  return mutate(request, scope);
}

MutateResult Injector::review_ephemeral(const AdmissionRequest& request) const {
  if (is_system_namespace(request.namespace_name)) {
    return allow_unchanged(ReviewResult::kSkipped,
                           "namespace " + request.namespace_name + " is never injected");
  }
  const auto& pod = request.object.pod;
  // Unreadable is refused as at CREATE: it could hide a privileged container.
  if (!pod) {
    if (request.object.opted_out) {
      return allow_unchanged(ReviewResult::kSkipped, "pod annotation weft.io/inject=disabled");
    }
    MutateResult result = deny(pod.error().message);
    result.outcome.denial_message =
        "weft-webhook cannot read this pod to review its ephemeral containers: " +
        pod.error().message;
    return result;
  }
  if (!claims_injected(*pod)) {
    return allow_unchanged(ReviewResult::kSkipped,
                           "ephemeral container in a pod without the proxy: no capture to undo");
  }
  // The existing containers were checked at creation; weft-proxy itself runs
  // as the proxy's UID, and no ephemeral container may take its name.
  auto uid = check_run_as_user(*pod, config_.proxy_uid, true);
  if (!uid) {
    MutateResult result = deny(uid.error().message);
    result.outcome.denial_message =
        "weft-webhook refuses this ephemeral container in a pod with the proxy: " +
        uid.error().message;
    return result;
  }
  auto granted =
      check_network_admin(*pod, request.namespace_name, config_, ContainerSet::kEphemeral);
  if (!granted) {
    MutateResult result = deny(granted.error().message);
    result.outcome.denial_message =
        "weft-webhook refuses this ephemeral container in a pod with the proxy: " +
        granted.error().message;
    return result;
  }
  auto result = allow_unchanged(ReviewResult::kSkipped, "ephemeral containers of an injected pod");
  result.opt_outs = std::move(*granted);
  return result;
}

}  // namespace weft::webhook
