#pragma once

// What proxy health needs to remember between reconciles of a namespace
// (docs/operator.md, "Proxy health"): each tracked pod's last restart count
// and when it last grew (a pod is `restarting` for --proxy-restart-window
// after that), its state and since when (an Event is raised once it has been
// in a bad state for --proxy-event-delay, so a pod starting up or briefly not
// ready raises none), and when each reason's Event was last raised for it (at
// most one per --proxy-event-interval). No I/O: the reconciler raises the Events, writes
// the summary and sets the metrics from what observe() returns. Entries go
// with their pods and namespaces, so memory follows the cluster.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "operator/model.h"
#include "operator/proxy_health.h"

namespace weft::op {

struct ProxyHealthSettings {
  std::string expected_version;  // the control plane's proxy version; "": no skew check
  std::chrono::milliseconds restart_window{std::chrono::minutes(10)};
  std::chrono::milliseconds event_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds event_delay{std::chrono::minutes(1)};
};

struct ProxyEventSpec {
  std::string pod;
  std::string uid;
  ProxyState state = ProxyState::kReady;
  std::string message;
};

struct NamespaceHealth {
  ProxyStateCounts counts{};
  std::size_t tracked = 0;
  std::uint64_t new_restarts = 0;       // restart count growth seen since the last call
  std::vector<ProxyEventSpec> events;   // pods that entered a bad state: raise these
  std::uint64_t events_suppressed = 0;  // same, within the event interval
  std::vector<ProxyFinding> unhealthy;  // every tracked pod not ready, by name
  // A pod leaves `restarting`, or has been in a bad state for the Event's
  // delay, then: reconcile the namespace again.
  std::optional<std::chrono::milliseconds> recheck_after;
};

class ProxyHealthTracker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit ProxyHealthTracker(ProxyHealthSettings settings) : settings_(std::move(settings)) {}

  const ProxyHealthSettings& settings() const { return settings_; }

  // The namespace's pods as cached now (tracked or not; name order).
  NamespaceHealth observe(const std::string& ns,
                          const std::vector<std::shared_ptr<const PodModel>>& pods, TimePoint now);
  void forget(const std::string& ns);
  std::size_t pods_remembered() const;

 private:
  struct PodMemory {
    std::size_t uid_hash = 0;  // a pod recreated under the same name starts afresh
    std::int32_t restarts = 0;
    std::optional<TimePoint> last_restart;
    ProxyState state = ProxyState::kReady;
    TimePoint since{};    // in `state` since
    bool raised = false;  // its Event was raised (or held back) for this stay in `state`
    std::map<ProxyState, TimePoint> last_event;
  };
  const ProxyHealthSettings settings_;
  mutable std::mutex mutex_;  // workers observe different namespaces at once
  std::map<std::string, std::map<std::string, PodMemory>> namespaces_;
};

}  // namespace weft::op
