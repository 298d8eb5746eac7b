#pragma once

// The parts of a pod the webhook reads, taken from request.object (as
// parse_review_json keeps it: only those parts) and checked for the shape the
// patch relies on; and the per-pod options from its config.weft.io/ annotations
// merged over the webhook's configuration.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "webhook/config.h"
#include "weft/capture/rules.h"
#include "weft/result.h"

namespace weft::webhook {

struct PodView {
  bool has_metadata = false;
  bool has_annotations = false;  // metadata.annotations is an object (maybe empty)
  std::map<std::string, std::string, std::less<>> annotations;
  std::vector<std::string> container_names;
  std::vector<std::string> init_container_names;
  bool has_init_containers = false;  // spec.initContainers is an array (maybe empty)
  std::vector<std::string> volume_names;
  bool has_volumes = false;
  std::vector<int> container_ports;  // every containerPort of every container
  bool host_network = false;

  bool operator==(const PodView&) const = default;
};

// request.object as the webhook sees it.
struct PodObject {
  // An Error names what is wrong ("spec.containers[1].name must be a string");
  // when several things are, the first in field order (metadata,
  // spec.containers, initContainers, volumes, hostNetwork).
  Result<PodView> pod = Error{"the review carries no pod object"};
  // The pod says weft.io/inject: disabled, which is honoured even when its shape
  // is an Error: a pod we would not inject is never denied.
  bool opted_out = false;
};

// request.object of the parsed review (null when absent). Kubernetes JSON may
// carry null for an omitted field, so null counts as absent.
PodObject read_pod(const nlohmann::json& object);

// True if weft-proxy or weft-init is already there (reinvocation, or a pod
// created from an injected pod's YAML).
bool already_injected(const PodView& pod);

struct PodOptions {
  capture::CaptureSettings capture;
  ResourceSettings proxy_resources;
  std::string log_level;
  std::string opaque_ports;  // canonical port list for the proxy, "" for none
  std::vector<std::string> warnings;
  // Any per-pod knob annotation applied: false means every field above equals the
  // configuration's, so the patch can reuse texts serialised once.
  bool customized = false;
};

// The webhook's configuration with the pod's annotations over it. A bad value is
// an Error naming the annotation, so the pod is denied with that reason.
Result<PodOptions> read_pod_options(const PodView& pod, const InjectorConfig& config);

}  // namespace weft::webhook
