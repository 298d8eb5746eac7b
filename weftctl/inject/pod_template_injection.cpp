#include "weftctl/inject/pod_template_injection.h"

#include <algorithm>
#include <set>

#include "webhook/decision.h"
#include "webhook/pod.h"
#include "weft/constants.h"

namespace weft::ctl::inject {
namespace {

using webhook::ReviewResult;
using webhook::Scope;

// The template with weft.io/inject: enabled, unless it says enabled or
// disabled already (or anything else: the webhook's decision refuses that).
Result<Json> opted_in(const Json& pod, bool& added) {
  added = false;
  Json result = pod;
  if (!result.is_object()) return Error{"the pod template must be an object"};
  Json& metadata = result["metadata"];
  if (metadata.is_null()) metadata = Json::object();
  if (!metadata.is_object()) return Error{"metadata must be an object"};
  Json& annotations = metadata["annotations"];
  if (annotations.is_null()) annotations = Json::object();
  if (!annotations.is_object()) return Error{"metadata.annotations must be an object"};
  const std::string key(kInjectAnnotation);
  if (!annotations.contains(key)) {
    annotations[key] = std::string(kInjectEnabled);
    added = true;
  }
  return result;
}

// The names the injection gives its volumes and annotations, from the
// webhook itself (they do not depend on the configuration).
const std::set<std::string>& injected_volume_names() {
  static const std::set<std::string> names = [] {
    std::set<std::string> found;
    const nlohmann::json volumes = webhook::injected_volumes(webhook::InjectorConfig{});
    for (const auto& volume : volumes) {
      found.insert(volume.at("name").get<std::string>());
    }
    return found;
  }();
  return names;
}

const std::set<std::string>& injected_annotation_keys() {
  static const std::set<std::string> keys = [] {
    std::set<std::string> found;
    const nlohmann::json annotations =
        webhook::injected_annotations(webhook::InjectorConfig{}, true);
    for (const auto& [key, value] : annotations.items()) found.insert(key);
    found.insert(std::string(kInjectionSealAnnotation));
    return found;
  }();
  return keys;
}

bool is_injected_container(const Json& container) {
  if (!container.is_object()) return false;
  const auto name = container.find("name");
  return name != container.end() && name->is_string() &&
         (*name == std::string(kInitContainerName) || *name == std::string(kProxyContainerName));
}

bool is_injected_volume(const Json& volume) {
  if (!volume.is_object()) return false;
  const auto name = volume.find("name");
  return name != volume.end() && name->is_string() &&
         injected_volume_names().contains(name->get<std::string>());
}

// Removes the items `drop` picks from object[key] (a list); the key too when
// that leaves the list empty. True if something was removed.
template <typename Predicate>
bool remove_items(Json& object, const std::string& key, Predicate drop) {
  if (!object.is_object()) return false;
  const auto list = object.find(key);
  if (list == object.end() || !list->is_array()) return false;
  Json kept = Json::array();
  for (const auto& item : *list) {
    if (!drop(item)) kept.push_back(item);
  }
  if (kept.size() == list->size()) return false;
  if (kept.empty()) {
    object.erase(key);
  } else {
    *list = std::move(kept);
  }
  return true;
}

}  // namespace

Result<TemplateOutcome> inject_pod_template(const Json& pod, std::string_view namespace_name,
                                            InjectMode mode, const webhook::Injector* injector) {
  bool added = false;
  auto annotated = opted_in(pod, added);
  if (!annotated) return annotated.error();
  const nlohmann::json as_webhook_sees = nlohmann::json::parse(annotated->dump());
  TemplateOutcome outcome{pod, false, "", {}};

  if (mode == InjectMode::kManual) {
    if (injector == nullptr) return Error{"no injector configuration"};
    auto review = injector->mutate_pod(as_webhook_sees, namespace_name, Scope::kPodOptIn);
    outcome.warnings = review.outcome.warnings;
    switch (review.result) {
      case ReviewResult::kInjected:
        outcome.pod = annotated->patch(Json::parse(review.outcome.patch));
        outcome.changed = true;
        outcome.what = "injected";
        return outcome;
      case ReviewResult::kDenied:
        return Error{review.outcome.denial_message};
      case ReviewResult::kSkipped:
      case ReviewResult::kIgnored:
        outcome.what = "skipped: " + review.reason;
        return outcome;
    }
  }

  const auto view = webhook::read_pod(as_webhook_sees);
  if (!view.pod) {
    if (view.opted_out) {
      outcome.what = "skipped: pod annotation weft.io/inject=disabled";
      return outcome;
    }
    return Error{view.pod.error().message};
  }
  auto decision = webhook::decide(*view.pod, namespace_name, Scope::kPodOptIn);
  if (!decision) return decision.error();
  if (!decision->inject) {
    outcome.what = "skipped: " + decision->reason;
    return outcome;
  }
  if (!added) {
    outcome.what = "skipped: already annotated " + std::string(kInjectAnnotation) + "=enabled";
    return outcome;
  }
  outcome.pod = std::move(*annotated);
  outcome.changed = true;
  outcome.what = "annotated";
  return outcome;
}

TemplateOutcome uninject_pod_template(const Json& pod) {
  TemplateOutcome outcome{pod, false, "skipped: not injected nor annotated", {}};
  if (!pod.is_object()) return outcome;
  Json result = pod;
  bool changed = false;
  if (auto spec = result.find("spec"); spec != result.end()) {
    changed |= remove_items(*spec, "initContainers", is_injected_container);
    changed |= remove_items(*spec, "containers", is_injected_container);
    changed |= remove_items(*spec, "volumes", is_injected_volume);
  }
  if (auto metadata = result.find("metadata"); metadata != result.end() && metadata->is_object()) {
    if (auto annotations = metadata->find("annotations");
        annotations != metadata->end() && annotations->is_object()) {
      const std::size_t before = annotations->size();
      for (const auto& key : injected_annotation_keys()) annotations->erase(key);
      const std::string opt_in(kInjectAnnotation);
      if (auto it = annotations->find(opt_in);
          it != annotations->end() && *it == std::string(kInjectEnabled)) {
        annotations->erase(opt_in);
      }
      if (annotations->size() != before) {
        changed = true;
        if (annotations->empty()) metadata->erase("annotations");
        if (metadata->empty()) result.erase("metadata");
      }
    }
  }
  if (!changed) return outcome;
  outcome.pod = std::move(result);
  outcome.changed = true;
  outcome.what = "uninjected";
  return outcome;
}

}  // namespace weft::ctl::inject
