#pragma once

// The pure core of the webhook: an AdmissionReview request in, the admission
// outcome (with its RFC 6902 JSON Patch) out. No I/O, no clock, no globals, so
// it is tested on captured reviews without a server, and dryRun reviews are safe
// by construction.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "webhook/admission.h"
#include "webhook/config.h"
#include "webhook/decision.h"
#include "webhook/pod.h"

namespace weft::webhook {

// The volumes the injection adds; their names identify it like the containers'.
inline constexpr std::string_view kProxyConfigVolume = "weft-proxy-config";
inline constexpr std::string_view kIdentityTokenVolume = "weft-identity-token";
// weft-init's iptables takes its lock in /run; the root filesystem is read-only.
inline constexpr std::string_view kXtablesLockVolume = "weft-xtables-lock";

// For metrics and logs; the label values of weft_webhook_reviews_total.
enum class ReviewResult {
  kInjected,  // allowed with a patch
  kSkipped,   // allowed unchanged: not opted in, opted out, already injected...
  kDenied,    // refused with a reason: a pod we were asked to inject but cannot
  kIgnored,   // allowed unchanged: not a pod CREATE (a misconfigured registration)
};
std::string_view to_string(ReviewResult result);

struct MutateResult {
  ReviewResult result = ReviewResult::kSkipped;
  AdmissionOutcome outcome;
  std::string reason;
  // Every way this pod was let out of capture, to be counted and logged:
  // inject_disabled, host_network, a skip annotation (kind and value), or a
  // network_admin container allowed by the configuration.
  std::vector<OptOut> opt_outs;
  // Injected: the app's HTTP probes left out of the proxy's Strict exemption
  // (webhook/probes.h), each also a warning.
  std::size_t probes_not_exempted = 0;
};

// The injector for one configuration (sidecar_mode resolved: kNative or kClassic;
// kAuto means native). The parts of the patch that depend only on the
// configuration are serialised once, here: a pod without config.weft.io/ knobs
// (the common case) gets a patch assembled from those texts, with no JSON
// document built per review.
class Injector {
 public:
  explicit Injector(InjectorConfig config);

  MutateResult mutate(const AdmissionRequest& request, Scope scope) const;
  // The review of a CREATE of this pod in `namespace_name`, the pod as JSON
  // (metadata and spec, as in a manifest or a workload's pod template): what
  // `weftctl inject` gives each pod template, so that manifests injected before
  // they reach the cluster get the same decision and patch as the pods the
  // webhook admits.
  MutateResult mutate_pod(const nlohmann::json& pod, std::string_view namespace_name,
                          Scope scope) const;
  // The RFC 6902 patch, as JSON text, for a pod the decision said to inject.
  std::string build_patch(const PodView& pod, const PodOptions& options) const;
  // A pod that claims to be injected (claims_injected): true only if it has one
  // weft-init (an init container) and one weft-proxy, the seal annotation
  // matches them, they are what this injector would inject into the pod now,
  // and so are their volumeMounts and the volumes the injection adds (the pod
  // has each once). Otherwise an Error saying what is wrong.
  Result<bool> verify_injected(const PodView& pod) const;
  const InjectorConfig& config() const { return config_; }

 private:
  // An UPDATE of pods/ephemeralcontainers: allowed unchanged, or denied when an
  // ephemeral container of an injected pod could undo capture.
  MutateResult review_ephemeral(const AdmissionRequest& request) const;

  InjectorConfig config_;
  bool native_;
  bool have_defaults_ = false;  // the configuration's own options validated
  std::string default_init_;    // weft-init, for a pod without knobs
  std::string default_proxy_;   // weft-proxy, likewise
  std::string default_seal_;    // their injection seal
  // Their volumeMounts, canonical, and the injected volumes: an injected pod's
  // must be these (verify_injected), as the seal does not cover them.
  std::vector<MountView> default_init_mounts_;
  std::vector<MountView> default_proxy_mounts_;
  std::vector<VolumeView> expected_volumes_;
  std::string volumes_;  // the list of the volumes the injection adds
  std::vector<std::string> volume_items_;
  // The object of the annotations recording the injection, in nlohmann's key
  // order, split where the seal's value goes: prefix + "\"sha256:...\"" + suffix.
  std::string annotations_prefix_;
  std::string annotations_suffix_;
  std::vector<std::pair<std::string, std::string>> annotation_items_;  // escaped key, value
};

// Injector(config).mutate(request, scope), for tests: serialises the fixed parts
// on every call.
MutateResult mutate(const AdmissionRequest& request, const InjectorConfig& config, Scope scope);

// The parts, exposed for tests and the fuzzer.
nlohmann::json proxy_container(const PodOptions& options, const InjectorConfig& config,
                               bool native);
nlohmann::json init_container(const PodOptions& options, const InjectorConfig& config);
nlohmann::json injected_volumes(const InjectorConfig& config);
nlohmann::json injected_annotations(const InjectorConfig& config, bool native);

// RFC 6901: '~' -> "~0", '/' -> "~1".
std::string escape_json_pointer(std::string_view token);

}  // namespace weft::webhook
