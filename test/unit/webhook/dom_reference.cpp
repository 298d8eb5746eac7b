#include "dom_reference.h"

#include <algorithm>

#include "webhook/admission.h"
#include "webhook/base64.h"
#include "weft/constants.h"

namespace weft::test::dom {
namespace {

using nlohmann::json;
using namespace weft::webhook;

int json_depth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

Result<std::string> optional_string(const json& object, const char* key, const char* where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return Error{std::string(where) + key + " must be a string"};
  return it->get<std::string>();
}

const json* member(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

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

bool opted_out(const json& object) {
  const json::json_pointer path("/metadata/annotations/" + escape_json_pointer(kInjectAnnotation));
  if (!object.is_object() || !object.contains(path)) return false;
  const json& value = object.at(path);
  return value.is_string() && value.get_ref<const std::string&>() == kInjectDisabled;
}

Result<bool> check_conflicts(const PodView& pod, const InjectorConfig& config) {
  for (const int port : pod.container_ports) {
    if (port == config.inbound_port || port == config.outbound_port || port == config.admin_port) {
      return Error{"container port " + std::to_string(port) + " is reserved for " +
                   std::string(kProxyContainerName)};
    }
  }
  for (const auto& name : pod.volume_names) {
    for (const auto ours :
         {kProxyConfigVolume, kIdentityTokenVolume, kIdentityCertsVolume, kXtablesLockVolume}) {
      if (name == ours) return Error{"the pod already has a volume named " + name};
    }
  }
  return true;
}

Outcome deny(std::string message) {
  Outcome result;
  result.result = ReviewResult::kDenied;
  result.reason = message;
  result.allowed = false;
  result.denial_code = 400;
  result.denial_message = "weft-webhook cannot inject the proxy into this pod: " + message +
                          " (fix it, or opt the pod out with the annotation " +
                          std::string(kInjectAnnotation) + ": " + std::string(kInjectDisabled) +
                          ")";
  return result;
}

Outcome allow_unchanged(ReviewResult kind, std::string reason) {
  Outcome result;
  result.result = kind;
  result.reason = std::move(reason);
  return result;
}

json build_patch(const PodView& pod, const PodOptions& options, const InjectorConfig& config) {
  const bool native = config.sidecar_mode != SidecarMode::kClassic;
  json patch = json::array();
  const auto add = [&](std::string path, json value) {
    patch.push_back({{"op", "add"}, {"path", std::move(path)}, {"value", std::move(value)}});
  };
  json init = init_container(options, config);
  if (!pod.has_init_containers) {
    json list = json::array({std::move(init)});
    if (native) list.push_back(proxy_container(options, config, true));
    add("/spec/initContainers", std::move(list));
  } else {
    add("/spec/initContainers/0", std::move(init));
    if (native) add("/spec/initContainers/1", proxy_container(options, config, true));
  }
  if (!native) add("/spec/containers/0", proxy_container(options, config, false));
  if (!pod.has_volumes) {
    add("/spec/volumes", injected_volumes(config));
  } else {
    for (auto& volume : injected_volumes(config)) add("/spec/volumes/-", std::move(volume));
  }
  const json annotations = injected_annotations(config, native);
  if (!pod.has_metadata) {
    add("/metadata", {{"annotations", annotations}});
  } else if (!pod.has_annotations) {
    add("/metadata/annotations", annotations);
  } else {
    for (const auto& [key, value] : annotations.items()) {
      add("/metadata/annotations/" + escape_json_pointer(key), value);
    }
  }
  return patch;
}

std::string describe(const std::vector<std::string>& list) {
  return json(list).dump();
}

}  // namespace

Result<Request> parse_admission_review(std::string_view body) {
  if (body.empty()) return Error{"empty body: expected an AdmissionReview"};
  if (json_depth(body) > webhook::kMaxJsonDepth) {
    return Error{"JSON nested deeper than " + std::to_string(webhook::kMaxJsonDepth) + " levels"};
  }
  json document = json::parse(body, nullptr, false);
  if (document.is_discarded()) return Error{"body is not valid JSON"};
  if (!document.is_object()) return Error{"body is not a JSON object"};
  const auto api_version = optional_string(document, "apiVersion", "");
  const auto kind = optional_string(document, "kind", "");
  if (!api_version) return api_version.error();
  if (!kind) return kind.error();
  if (*kind != "AdmissionReview") {
    return Error{"kind is '" + *kind + "', expected AdmissionReview"};
  }
  if (*api_version != "admission.k8s.io/v1") {
    return Error{"apiVersion '" + *api_version +
                 "' is not supported: list admission.k8s.io/v1 in admissionReviewVersions"};
  }
  const auto request_it = document.find("request");
  if (request_it == document.end() || !request_it->is_object()) {
    return Error{"AdmissionReview has no request object"};
  }
  json& request = *request_it;
  Request parsed;
  struct Field {
    const char* key;
    std::string* out;
  };
  for (const auto& [key, out] :
       {Field{"uid", &parsed.uid}, Field{"operation", &parsed.operation},
        Field{"namespace", &parsed.namespace_name}, Field{"name", &parsed.name},
        Field{"subResource", &parsed.sub_resource}}) {
    auto value = optional_string(request, key, "request.");
    if (!value) return value.error();
    *out = std::move(*value);
  }
  if (parsed.uid.empty()) return Error{"request.uid is missing"};
  if (parsed.operation.empty()) return Error{"request.operation is missing"};
  const auto kind_it = request.find("kind");
  if (kind_it == request.end() || !kind_it->is_object()) {
    return Error{"request.kind is missing or not an object"};
  }
  for (const auto& [key, out] :
       {Field{"group", &parsed.kind_group}, Field{"version", &parsed.kind_version},
        Field{"kind", &parsed.kind}}) {
    auto value = optional_string(*kind_it, key, "request.kind.");
    if (!value) return value.error();
    *out = std::move(*value);
  }
  if (parsed.kind.empty()) return Error{"request.kind.kind is missing"};
  const auto dry_run = request.find("dryRun");
  if (dry_run != request.end() && !dry_run->is_null()) {
    if (!dry_run->is_boolean()) return Error{"request.dryRun must be a boolean"};
    parsed.dry_run = dry_run->get<bool>();
  }
  const auto object = request.find("object");
  if (object != request.end()) parsed.object = std::move(*object);
  return parsed;
}

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

Outcome mutate(const Request& request, const InjectorConfig& config, Scope scope) {
  if (request.kind != "Pod" || !request.kind_group.empty()) {
    auto result = allow_unchanged(ReviewResult::kIgnored, "not a pod: " + request.kind);
    result.warnings.push_back("weft-webhook only mutates pods, not " + request.kind +
                              "; check the MutatingWebhookConfiguration rules");
    return result;
  }
  if (request.operation != "CREATE" || !request.sub_resource.empty()) {
    return allow_unchanged(ReviewResult::kIgnored,
                           "not a pod CREATE: " + request.operation + " " + request.sub_resource);
  }
  if (is_system_namespace(request.namespace_name)) {
    return allow_unchanged(ReviewResult::kSkipped,
                           "namespace " + request.namespace_name + " is never injected");
  }
  auto pod = read_pod(request.object);
  if (!pod) {
    if (opted_out(request.object)) {
      return allow_unchanged(ReviewResult::kSkipped, "pod annotation weft.io/inject=disabled");
    }
    return deny(pod.error().message);
  }
  auto decision = decide(*pod, request.namespace_name, scope);
  if (!decision) return deny(decision.error().message);
  if (!decision->inject) return allow_unchanged(ReviewResult::kSkipped, decision->reason);
  auto conflicts = check_conflicts(*pod, config);
  if (!conflicts) return deny(conflicts.error().message);
  auto options = read_pod_options(*pod, config);
  if (!options) return deny(options.error().message);
  Outcome result;
  result.result = ReviewResult::kInjected;
  result.reason = decision->reason;
  result.patch = build_patch(*pod, *options, config);
  result.warnings = std::move(options->warnings);
  return result;
}

std::string admission_response(std::string_view uid, const Outcome& outcome) {
  json response{{"uid", uid}, {"allowed", outcome.allowed}};
  const bool has_patch = outcome.allowed && outcome.patch.is_array() && !outcome.patch.empty();
  if (has_patch) response["patchType"] = "JSONPatch";
  if (!outcome.warnings.empty()) response["warnings"] = outcome.warnings;
  if (!outcome.allowed) {
    response["status"] = {{"code", outcome.denial_code == 0 ? 403 : outcome.denial_code},
                          {"message", outcome.denial_message}};
  }
  std::string text = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":)";
  text += response.dump(-1, ' ', false, json::error_handler_t::replace);
  if (has_patch) {
    text.pop_back();
    text += R"(,"patch":")";
    text += base64_encode(outcome.patch.dump(-1, ' ', false, json::error_handler_t::replace));
    text += "\"}";
  }
  text += '}';
  return text;
}

std::string differences_from_reference(std::string_view body) {
  const auto fast = webhook::parse_admission_review_reader(body);
  const auto reference = parse_admission_review(body);
  if (fast.has_value() != reference.has_value()) {
    return "parse: fast " + (fast ? std::string("accepts") : "refuses: " + fast.error().message) +
           ", reference " +
           (reference ? std::string("accepts") : "refuses: " + reference.error().message);
  }
  if (!fast) {
    if (fast.error().message != reference.error().message) {
      return "parse error: fast '" + fast.error().message + "', reference '" +
             reference.error().message + "'";
    }
    return {};
  }
  const std::vector<std::pair<std::string, std::string>> fields{
      {fast->uid, reference->uid},
      {fast->kind_group, reference->kind_group},
      {fast->kind_version, reference->kind_version},
      {fast->kind, reference->kind},
      {fast->sub_resource, reference->sub_resource},
      {fast->operation, reference->operation},
      {fast->namespace_name, reference->namespace_name},
      {fast->name, reference->name}};
  for (const auto& [a, b] : fields) {
    if (a != b) return "field: fast '" + a + "', reference '" + b + "'";
  }
  if (fast->dry_run != reference->dry_run) return "dryRun differs";

  static const std::vector<InjectorConfig> configs = [] {
    InjectorConfig native;
    native.sidecar_mode = SidecarMode::kNative;
    InjectorConfig classic;
    classic.sidecar_mode = SidecarMode::kClassic;
    // Text that needs escaping, and cluster-wide exemptions.
    InjectorConfig unusual = native;
    unusual.proxy_version = "v0.1.0 \"quoted\"\\\t\u00e9";
    unusual.skip_subnets = {capture::Ipv4Subnet{0xA9FEA9FE, 32}};
    return std::vector<InjectorConfig>{native, classic, unusual};
  }();
  for (const auto& config : configs) {
    const webhook::Injector injector(config);
    for (const auto scope : {Scope::kNamespaceEnabled, Scope::kPodOptIn}) {
      const auto got = injector.mutate(*fast, scope);
      const auto want = mutate(*reference, config, scope);
      const std::string where =
          std::string(config.sidecar_mode == SidecarMode::kClassic ? "classic" : "native") +
          (scope == Scope::kPodOptIn ? "/opt-in: " : "/namespace: ");
      if (got.result != want.result) {
        return where + "result " + std::string(to_string(got.result)) + " vs " +
               std::string(to_string(want.result)) + " (" + got.reason + " | " + want.reason + ")";
      }
      if (got.reason != want.reason)
        return where + "reason '" + got.reason + "' vs '" + want.reason + "'";
      if (got.outcome.allowed != want.allowed) return where + "allowed differs";
      if (got.outcome.warnings != want.warnings) {
        return where + "warnings " + describe(got.outcome.warnings) + " vs " +
               describe(want.warnings);
      }
      if (got.outcome.denial_code != want.denial_code ||
          got.outcome.denial_message != want.denial_message) {
        return where + "denial '" + got.outcome.denial_message + "' vs '" + want.denial_message +
               "'";
      }
      const std::string want_patch =
          want.patch.is_null() ? ""
                               : want.patch.dump(-1, ' ', false, json::error_handler_t::replace);
      if (got.outcome.patch != want_patch) {
        return where + "patch\n  fast:      " + got.outcome.patch + "\n  reference: " + want_patch;
      }
      const std::string got_response = webhook::admission_response(fast->uid, got.outcome);
      const std::string want_response = admission_response(reference->uid, want);
      if (got_response != want_response) {
        return where + "response\n  fast:      " + got_response + "\n  reference: " + want_response;
      }
    }
  }
  return {};
}

}  // namespace weft::test::dom
