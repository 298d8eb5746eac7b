#pragma once

// Proxy health, pure (docs/operator.md, "Proxy health"): each meshed pod's
// proxy classified from what the pod itself says (the webhook's annotations,
// the weft-proxy container's status), and a namespace's findings turned into
// the summary ConfigMap users read (weft-proxy-health).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "operator/model.h"

namespace weft::op {

// One state per pod: the most urgent that applies, in this order of urgency
// (missing proxy first, ready last). The values are the metric's `state`
// label. kStaleConfig is named for the alert rules but never assigned: the
// operator cannot read a proxy's document hash cheaply (docs/operator.md).
enum class ProxyState : std::uint8_t {
  kMissingProxy,
  kCrashLooping,
  kRestarting,
  kNotReady,
  kVersionSkew,
  kStaleConfig,
  kReady,
};
inline constexpr std::array kProxyStates{
    ProxyState::kMissingProxy, ProxyState::kCrashLooping, ProxyState::kRestarting,
    ProxyState::kNotReady,     ProxyState::kVersionSkew,  ProxyState::kStaleConfig,
    ProxyState::kReady,
};
using ProxyStateCounts = std::array<std::size_t, kProxyStates.size()>;

std::string_view to_string(ProxyState state);  // "missing_proxy", ..., "ready"
// The Event reason of a pod entering the state ("ProxyCrashLooping"...); "" for ready.
std::string_view event_reason(ProxyState state);

// The pod is tracked: the webhook injected it (the seal) or it runs the
// weft-proxy container, it has not finished (Succeeded or Failed: its proxy
// has ended with it, as it should) and is not being deleted.
bool tracked_pod(const PodModel& pod);

// The state of a tracked pod's proxy. restarted_recently: its restart count
// grew within the restart window (the tracker remembers the counts).
// expected_version: the control plane's proxy version ("": no skew check).
ProxyState classify_proxy(const PodModel& pod, bool restarted_recently,
                          std::string_view expected_version);

// Why, in words, for an Event and the summary.
std::string describe_proxy(const PodModel& pod, ProxyState state,
                           std::string_view expected_version);

struct ProxyFinding {
  std::string pod;
  ProxyState state = ProxyState::kReady;
};

// What the summary shows: every count, and the pods not ready (at most
// kSummaryPodsListed, in name order, then how many more).
inline constexpr std::size_t kSummaryPodsListed = 50;

// The data of ConfigMap weft-proxy-health: `healthy` ("true"/"false"),
// `conditions` (a JSON array holding the condition ProxiesHealthy, in
// metav1.Condition's shape), `pods` (a JSON object of counts by state) and
// `unhealthy` (a line per pod not ready: "<pod>: <state>").
// previous_transition: the condition's lastTransitionTime in the stored map
// when `healthy` has not changed; now otherwise.
std::map<std::string, std::string> proxy_health_data(const ProxyStateCounts& counts,
                                                     const std::vector<ProxyFinding>& unhealthy,
                                                     const ProxyHealthMapModel* stored,
                                                     const std::string& now);

// The ConfigMap itself, owned by the Namespace (deleted with it).
nlohmann::json desired_proxy_health_map(const NamespaceModel& ns,
                                        const std::map<std::string, std::string>& data);

}  // namespace weft::op
