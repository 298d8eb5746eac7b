#pragma once

// The list/watch loop for one resource (as kube-rs' watcher and client-go's
// reflector): list every object (paginated), hand the full list to the
// consumer, then watch from the list's resourceVersion and hand over each
// change. It keeps the resourceVersion current (events and BOOKMARKs) and:
//   - stream ended by the server (timeoutSeconds): watch again from there, no event lost;
//   - 410 Gone (HTTP or an ERROR event), any other ERROR event, a cut or dead
//     stream, a failed list: relist after a backoff with jitter, and deliver
//     the new full list as kRestarted, so the consumer swaps its whole content.
// Runs on its own thread; stop() returns promptly (it interrupts the stream).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "weft/backoff.h"
#include "weft/kube/client.h"
#include "weft/kube/error.h"
#include "weft/kube/resource.h"

namespace weft::kube {

enum class WatcherEventType {
  kRestarted,  // `objects` is the complete current state; replace everything known
  kAdded,
  kModified,
  kDeleted,  // `object` is the last state of the deleted object
};

// "Restarted", "Added", "Modified", "Deleted".
std::string_view to_string(WatcherEventType type);

struct WatcherEvent {
  WatcherEventType type = WatcherEventType::kRestarted;
  nlohmann::json object{};                // kAdded, kModified, kDeleted
  std::vector<nlohmann::json> objects{};  // kRestarted
  std::string resource_version{};         // of the list, or of the object
};

struct WatcherOptions {
  std::string ns{};  // "" = all namespaces (or a cluster-scoped resource)
  std::string label_selector{};
  std::string field_selector{};
  int page_size = 500;
  // Server-side timeout of each watch request. Streams end cleanly after it
  // and are resumed from the last resourceVersion (not a restart).
  std::chrono::seconds watch_timeout{290};
  std::chrono::seconds idle_timeout{0};  // see WatchOptions::idle_timeout
  // Delay before a relist after a failure; reset once a list succeeds and a
  // watch delivered at least one event or ended cleanly.
  BackoffPolicy backoff{};
  // Resume instead of the first list: the consumer already holds the state at
  // this resourceVersion (e.g. saved before a restart), so the watcher starts
  // watching from it and counts as synced at once. If the version is too old
  // (410 Gone) it relists as usual. "" (the default) lists first.
  std::string resume_from{};
  // Called (on the watcher thread) for each failure that causes a relist, with
  // the reason, e.g. to log it. The restart counter is already incremented.
  std::function<void(const ApiError& why)> on_error{};
};

class Watcher {
 public:
  // consumer is called on the watcher thread, one event at a time, in order.
  Watcher(std::shared_ptr<Client> client, ResourceType type, WatcherOptions options,
          std::function<void(WatcherEvent&&)> consumer);
  ~Watcher();  // stop()
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Starts the thread (once).
  void start();
  // Requests stop, interrupts a list backoff or a watch stream, and joins.
  // Idempotent. From inside the consumer it only requests the stop (no more
  // events are delivered after the current one); the destructor then joins.
  void stop();

  // Failures that sent the watcher back to a full list (a failed list that is
  // retried counts too), for a "watch restarts" metric. Clean stream ends that
  // resume from the last version do not count.
  std::uint64_t restarts() const { return restarts_.load(std::memory_order_relaxed); }
  // Watch requests made (a clean resume counts, a restart too).
  std::uint64_t watches() const { return watches_.load(std::memory_order_relaxed); }
  // True once the first full list was delivered.
  bool synced() const { return synced_.load(std::memory_order_acquire); }
  // Waits until synced() or the timeout; returns synced().
  bool wait_synced(std::chrono::milliseconds timeout) const;
  // The last resourceVersion seen (list, event or bookmark).
  std::string resource_version() const;

 private:
  void run(std::stop_token stop);
  // Lists and delivers kRestarted; false on failure (error set).
  bool list_and_deliver(std::stop_token stop, ApiError& error);
  // Watches from resource_version until a restart is needed (returns its reason) or stop.
  std::optional<ApiError> watch_until_failure(std::stop_token stop, Backoff& backoff);
  void set_resource_version(std::string version);
  void mark_synced();
  // Sleeps, unless stop is requested first.
  void sleep_for(std::chrono::milliseconds delay, std::stop_token stop);

  const std::shared_ptr<Client> client_;
  const ResourceType type_;
  const WatcherOptions options_;
  const std::function<void(WatcherEvent&&)> consumer_;

  std::jthread thread_;
  std::atomic<std::uint64_t> restarts_{0};
  std::atomic<std::uint64_t> watches_{0};
  std::atomic<bool> synced_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable_any changed_;
  std::string resource_version_{};
};

}  // namespace weft::kube
