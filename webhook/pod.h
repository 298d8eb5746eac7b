#pragma once

// The parts of a pod the webhook reads, taken from request.object (as
// parse_review_json keeps it: only those parts) and checked for the shape the
// patch relies on; and the per-pod options from its config.weft.io/ annotations
// merged over the webhook's configuration.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "webhook/config.h"
#include "webhook/probes.h"
#include "weft/capture/rules.h"
#include "weft/constants.h"
#include "weft/result.h"

namespace weft::webhook {

// The annotation the webhook writes on every pod it injects: "sha256:" and the
// digest of the injected containers' seal fields (injection_seal). A pod that
// carries containers named weft-init or weft-proxy is taken as already injected
// only if this annotation matches both those containers and what the webhook
// would inject into the pod now; otherwise it is denied (the names are reserved).
using weft::kInjectionSealAnnotation;  // lib/weft/constants.h: the operator reads it too

// One volumeMount of weft-init or weft-proxy.
struct MountView {
  std::string name;
  std::string mount_path;
  std::string canonical;  // canonical_mount
  bool operator==(const MountView&) const = default;
};

// A volume whose name starts with kReservedVolumePrefix, the prefix of every
// volume the injection adds.
struct VolumeView {
  std::string name;
  std::string canonical;  // canonical_volume
  bool operator==(const VolumeView&) const = default;
};
inline constexpr std::string_view kReservedVolumePrefix = "weft-";

// A container as far as the seal and the UID check need it.
struct ContainerView {
  std::string name;
  bool init = false;       // in spec.initContainers
  bool ephemeral = false;  // in spec.ephemeralContainers (added by UPDATE of that subresource)
  // securityContext.runAsUser; unset when absent (the pod's then applies).
  std::optional<std::int64_t> run_as_user;
  // securityContext.privileged, and securityContext.capabilities.add as written:
  // what could let the container rewrite the pod's capture rules (decision.h).
  bool privileged = false;
  std::vector<std::string> added_capabilities;
  // The fields that decide what the container runs and as whom, canonical JSON
  // (seal_fields); filled only for the reserved names, the only ones sealed.
  std::string seal_fields;
  // Its volumeMounts, each canonical (canonical_mount), likewise only for the
  // reserved names: the seal leaves them out, verify_injected compares them.
  std::vector<MountView> volume_mounts;
  bool operator==(const ContainerView&) const = default;
};

struct PodView {
  bool has_metadata = false;
  bool has_annotations = false;  // metadata.annotations is an object (maybe empty)
  std::map<std::string, std::string, std::less<>> annotations;
  std::vector<std::string> container_names;
  std::vector<std::string> init_container_names;
  bool has_init_containers = false;  // spec.initContainers is an array (maybe empty)
  std::vector<std::string> volume_names;
  bool has_volumes = false;
  std::vector<VolumeView> reserved_volumes;  // in spec.volumes order
  std::vector<int> container_ports;          // every containerPort of every container
  bool host_network = false;
  // containers, then initContainers, then ephemeralContainers
  std::vector<ContainerView> containers;
  std::optional<std::int64_t> run_as_user;  // spec.securityContext.runAsUser
  ProbeScan probes;                         // the app containers' HTTP probes (scan_probes)

  bool operator==(const PodView&) const = default;
};

// request.object as the webhook sees it.
struct PodObject {
  // An Error names what is wrong ("spec.containers[1].name must be a string");
  // when several things are, the first in field order (metadata,
  // spec.containers, initContainers, ephemeralContainers, volumes, hostNetwork).
  Result<PodView> pod = Error{"the review carries no pod object"};
  // The pod says weft.io/inject: disabled, which is honoured even when its shape
  // is an Error: a pod we would not inject is never denied.
  bool opted_out = false;
};

// request.object of the parsed review (null when absent). Kubernetes JSON may
// carry null for an omitted field, so null counts as absent.
PodObject read_pod(const nlohmann::json& object);

// True if the pod claims to be injected: a container named weft-proxy or
// weft-init, or the seal annotation (reinvocation, a pod created from an
// injected pod's YAML, or a pod trying to look injected). The claim is checked
// by the injector (Injector::verify_injected), never taken on trust.
bool claims_injected(const PodView& pod);

// The seal fields of a container's JSON, canonical (keys sorted): image, command,
// args, workingDir, env, envFrom, securityContext, restartPolicy, lifecycle. The
// API server's defaulting of env fieldRefs (apiVersion v1) is undone, so a
// reinvoked review seals like the patch did.
std::string seal_fields(const nlohmann::json& container);
// A volume's or a volumeMount's JSON, canonical (keys sorted), with what the
// API server defaults after the patch undone (defaultMode 420, a fieldRef's
// apiVersion v1, readOnly false), so a reinvoked review compares like the patch.
std::string canonical_volume(const nlohmann::json& volume);
std::string canonical_mount(const nlohmann::json& mount);
// "sha256:<hex>" over the weft-init and weft-proxy seal fields.
std::string injection_seal(std::string_view init_fields, std::string_view proxy_fields);

// A pod annotation that made capture skip something: counted and logged.
struct OptOut {
  std::string kind;   // skip_inbound_ports, skip_outbound_ports, skip_subnets
  std::string value;  // the annotation's value
  bool operator==(const OptOut&) const = default;
};

struct PodOptions {
  capture::CaptureSettings capture;
  ResourceSettings proxy_resources;
  std::string log_level;
  std::string opaque_ports;  // canonical port list for the proxy, "" for none
  // The app's HTTP probes for the proxy (format_probe_routes), "" for none.
  std::string inbound_probes;
  std::vector<std::string> warnings;
  std::vector<OptOut> opt_outs;  // the skip annotations granted
  // Any per-pod knob annotation applied: false means every field above equals the
  // configuration's, so the patch can reuse texts serialised once.
  bool customized = false;
};

// The webhook's configuration with the pod's annotations over it. A bad value is
// an Error naming the annotation, so the pod is denied with that reason; so is a
// skip the configuration's policy does not allow (check_skip_policy).
Result<PodOptions> read_pod_options(const PodView& pod, const InjectorConfig& config);

// Whether the configuration lets a pod's annotation skip these ports or subnets:
// what lies in the allow-list always may; beyond it, at most
// config.pod_skip_max_ports ports per list, and subnets holding in all no more
// addresses than one subnet of prefix config.pod_skip_min_prefix_length. An
// Error says what is too wide and which configuration key would allow it.
Result<bool> check_port_skip(const std::vector<capture::PortRange>& ports,
                             const std::vector<capture::PortRange>& allowed,
                             const InjectorConfig& config, std::string_view allow_key);
Result<bool> check_subnet_skip(const std::vector<capture::Ipv4Subnet>& subnets,
                               const InjectorConfig& config);

// The first container (not weft-init or weft-proxy when `skip_injected`) that
// runs as `uid`, by its own securityContext or the pod's: an Error naming it.
Result<bool> check_run_as_user(const PodView& pod, std::uint32_t uid, bool skip_injected);

}  // namespace weft::webhook
