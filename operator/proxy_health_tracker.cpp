#include "operator/proxy_health_tracker.h"

#include <functional>

namespace weft::op {

NamespaceHealth ProxyHealthTracker::observe(
    const std::string& ns, const std::vector<std::shared_ptr<const PodModel>>& pods,
    TimePoint now) {
  NamespaceHealth out;
  // The soonest moment a pod's state or Event is due.
  const auto recheck_at = [&](TimePoint when) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(when - now);
    if (!out.recheck_after || left < *out.recheck_after) out.recheck_after = left;
  };
  std::lock_guard lock(mutex_);
  auto& remembered = namespaces_[ns];
  std::map<std::string, PodMemory> next;
  for (const auto& pod : pods) {
    if (!tracked_pod(*pod)) continue;
    ++out.tracked;
    PodMemory memory;
    bool known = false;
    const std::size_t uid_hash = std::hash<std::string>{}(pod->meta.uid);
    if (auto it = remembered.find(pod->meta.name);
        it != remembered.end() && it->second.uid_hash == uid_hash) {
      memory = std::move(it->second);
      known = true;
    }
    memory.uid_hash = uid_hash;
    // The first sight of a pod only records its count: restarts before the
    // operator saw it are not new (an operator restart must not count them again).
    if (known && pod->proxy_restarts > memory.restarts) {
      out.new_restarts += static_cast<std::uint64_t>(pod->proxy_restarts - memory.restarts);
      memory.last_restart = now;
    }
    memory.restarts = pod->proxy_restarts;
    bool restarted_recently = false;
    if (memory.last_restart) {
      const auto until = *memory.last_restart + settings_.restart_window;
      restarted_recently = now < until;
      if (restarted_recently) {
        recheck_at(until);
      } else {
        memory.last_restart.reset();
      }
    }
    const ProxyState state = classify_proxy(*pod, restarted_recently, settings_.expected_version);
    ++out.counts[static_cast<std::size_t>(state)];
    if (state != ProxyState::kReady) out.unhealthy.push_back({pod->meta.name, state});
    if (!known || memory.state != state) {
      memory.since = now;
      memory.raised = false;
    }
    if (state != ProxyState::kReady && !memory.raised) {
      const auto due = memory.since + settings_.event_delay;
      if (now < due) {
        recheck_at(due);
      } else {
        memory.raised = true;
        const auto last = memory.last_event.find(state);
        if (last != memory.last_event.end() && now - last->second < settings_.event_interval) {
          ++out.events_suppressed;
        } else {
          memory.last_event[state] = now;
          out.events.push_back({pod->meta.name, pod->meta.uid, state,
                                describe_proxy(*pod, state, settings_.expected_version)});
        }
      }
    }
    // Event times older than the interval limit nothing any more.
    std::erase_if(memory.last_event, [&](const auto& entry) {
      return now - entry.second >= settings_.event_interval;
    });
    memory.state = state;
    next.emplace(pod->meta.name, std::move(memory));
  }
  remembered = std::move(next);  // pods gone are forgotten
  return out;
}

void ProxyHealthTracker::forget(const std::string& ns) {
  std::lock_guard lock(mutex_);
  namespaces_.erase(ns);
}

std::size_t ProxyHealthTracker::pods_remembered() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [ns, pods] : namespaces_) total += pods.size();
  return total;
}

}  // namespace weft::op
