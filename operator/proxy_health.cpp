#include "operator/proxy_health.h"

#include <fmt/format.h>

#include "operator/namespace_plan.h"
#include "weft/constants.h"

namespace weft::op {

using nlohmann::json;

std::string_view to_string(ProxyState state) {
  switch (state) {
    case ProxyState::kMissingProxy:
      return "missing_proxy";
    case ProxyState::kCrashLooping:
      return "crash_looping";
    case ProxyState::kRestarting:
      return "restarting";
    case ProxyState::kNotReady:
      return "not_ready";
    case ProxyState::kVersionSkew:
      return "version_skew";
    case ProxyState::kStaleConfig:
      return "stale_config";
    case ProxyState::kReady:
      return "ready";
  }
  return "ready";
}

std::string_view event_reason(ProxyState state) {
  switch (state) {
    case ProxyState::kMissingProxy:
      return "ProxyMissing";
    case ProxyState::kCrashLooping:
      return "ProxyCrashLooping";
    case ProxyState::kRestarting:
      return "ProxyRestarting";
    case ProxyState::kNotReady:
      return "ProxyNotReady";
    case ProxyState::kVersionSkew:
      return "ProxyVersionSkew";
    case ProxyState::kStaleConfig:
      return "ProxyStaleConfig";
    case ProxyState::kReady:
      return "";
  }
  return "";
}

bool tracked_pod(const PodModel& pod) {
  // A pod being deleted stops its proxy on purpose: every rollout would
  // otherwise count its old pods not ready.
  return (pod.sealed || pod.has_proxy) && !pod.finished && !pod.meta.deleting;
}

ProxyState classify_proxy(const PodModel& pod, bool restarted_recently,
                          std::string_view expected_version) {
  // The seal without the container: the injection was undone (an edit, a
  // controller that rewrote the template's containers). Traffic is not captured.
  if (!pod.has_proxy) return ProxyState::kMissingProxy;
  if (pod.proxy_crash_looping) return ProxyState::kCrashLooping;
  if (restarted_recently) return ProxyState::kRestarting;
  if (!pod.proxy_ready) return ProxyState::kNotReady;
  if (!expected_version.empty() && pod.proxy_version != expected_version) {
    return ProxyState::kVersionSkew;
  }
  return ProxyState::kReady;
}

std::string describe_proxy(const PodModel& pod, ProxyState state,
                           std::string_view expected_version) {
  switch (state) {
    case ProxyState::kMissingProxy:
      return fmt::format(
          "pod {} carries the injection seal but no {} container: its traffic "
          "bypasses the mesh (recreate it so the webhook injects it again)",
          pod.meta.name, kProxyContainerName);
    case ProxyState::kCrashLooping:
      return fmt::format("proxy container {} of pod {} is in CrashLoopBackOff ({} restarts)",
                         kProxyContainerName, pod.meta.name, pod.proxy_restarts);
    case ProxyState::kRestarting:
      return fmt::format("proxy container {} of pod {} restarted recently ({} restarts)",
                         kProxyContainerName, pod.meta.name, pod.proxy_restarts);
    case ProxyState::kNotReady:
      return fmt::format("proxy container {} of pod {} is not ready", kProxyContainerName,
                         pod.meta.name);
    case ProxyState::kVersionSkew:
      return fmt::format(
          "pod {} runs proxy version {:?}, the control plane's is {:?} (restart "
          "the workload to upgrade it)",
          pod.meta.name, pod.proxy_version, expected_version);
    case ProxyState::kStaleConfig:
      return fmt::format("proxy of pod {} serves an older configuration", pod.meta.name);
    case ProxyState::kReady:
      return fmt::format("proxy of pod {} is ready", pod.meta.name);
  }
  return {};
}

namespace {

// The most urgent state present, for the condition's reason.
std::string condition_reason(const ProxyStateCounts& counts) {
  static constexpr std::array<std::string_view, kProxyStates.size()> kReasons{
      "ProxyMissing",     "ProxyCrashLooping", "ProxyRestarting", "ProxyNotReady",
      "ProxyVersionSkew", "ProxyStaleConfig",  "AllProxiesReady"};
  for (std::size_t i = 0; i + 1 < kProxyStates.size(); ++i) {
    if (counts[i] > 0) return std::string(kReasons[i]);
  }
  return std::string(kReasons.back());
}

}  // namespace

std::map<std::string, std::string> proxy_health_data(const ProxyStateCounts& counts,
                                                     const std::vector<ProxyFinding>& unhealthy,
                                                     const ProxyHealthMapModel* stored,
                                                     const std::string& now) {
  std::size_t total = 0;
  json pods = json::object();
  for (std::size_t i = 0; i < kProxyStates.size(); ++i) {
    total += counts[i];
    pods[std::string(to_string(kProxyStates[i]))] = counts[i];
  }
  const std::size_t ready = counts[static_cast<std::size_t>(ProxyState::kReady)];
  const bool healthy = ready == total;
  std::string message = fmt::format("{} of {} proxies ready", ready, total);
  for (std::size_t i = 0; i + 1 < kProxyStates.size(); ++i) {
    if (counts[i] > 0) message += fmt::format(", {} {}", counts[i], to_string(kProxyStates[i]));
  }
  const std::string status = healthy ? "True" : "False";
  std::string since = now;
  if (stored) {
    const auto it = stored->data.find("healthy");
    const bool same = it != stored->data.end() && it->second == (healthy ? "true" : "false");
    if (same && !stored->last_transition_time.empty()) since = stored->last_transition_time;
  }
  const json conditions = json::array({{{"type", "ProxiesHealthy"},
                                        {"status", status},
                                        {"reason", condition_reason(counts)},
                                        {"message", message},
                                        {"lastTransitionTime", since}}});
  std::string listed;
  std::size_t shown = 0;
  for (const auto& finding : unhealthy) {
    if (shown == kSummaryPodsListed) break;
    listed += fmt::format("{}: {}\n", finding.pod, to_string(finding.state));
    ++shown;
  }
  if (unhealthy.size() > shown)
    listed += fmt::format("... and {} more\n", unhealthy.size() - shown);
  return {{"healthy", healthy ? "true" : "false"},
          {"conditions", conditions.dump()},
          {"pods", pods.dump()},
          {"unhealthy", listed}};
}

json desired_proxy_health_map(const NamespaceModel& ns,
                              const std::map<std::string, std::string>& data) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", generated_metadata(ns, kProxyHealthConfigMapName)},
          {"data", data}};
}

}  // namespace weft::op
