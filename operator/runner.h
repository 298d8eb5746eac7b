#pragma once

// Runs a level-triggered reconcile over the keys of a WorkQueue with N worker
// threads (kube-rs' controller runner, controller-runtime's controller):
// - reconcile takes only a key (it reads state from the caches) and returns a
//   small Action: requeue after a delay, or wait for the next change;
// - an error goes to one error policy: retry with the queue's per-key backoff,
//   or give up (terminal) until the next change;
// - the queue guarantees a key is never reconciled twice at once, and keys of
//   one group (group_of) are never reconciled at once either: a key whose
//   group is busy waits, parked, until the reconcile in flight is done;
// - every resync_period every key is enqueued again (periodic resync), which
//   repairs anything a lost event or an outside write left behind.
// stop() lets reconciles in flight finish, then joins.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "operator/work_queue.h"
#include "weft/result.h"

namespace weft::op {

struct Action {
  std::optional<std::chrono::milliseconds> requeue_after;  // nullopt: await change

  static Action await_change() { return {}; }
  static Action requeue(std::chrono::milliseconds after) { return {after}; }
};

// What the error policy decides for a failed reconcile.
enum class OnError { kRetryWithBackoff, kGiveUp };

struct ReconcileReport {
  const std::string& key;
  std::chrono::nanoseconds duration;
  const Error* error;  // nullptr on success
};

struct RunnerOptions {
  int workers = 2;
  std::chrono::milliseconds resync_period{0};  // 0: no periodic resync
  // The keys to enqueue on resync (e.g. every namespace in the cache).
  std::function<std::vector<std::string>()> all_keys;
  std::function<OnError(const std::string& key, const Error& error)> error_policy;
  // Keys that share state (two keys of one namespace) return the same group;
  // unset: every key is its own group.
  std::function<std::string(const std::string& key)> group_of;
  // Called after each reconcile (metrics, logs), on the worker thread.
  std::function<void(const ReconcileReport&)> on_reconciled;
};

class Runner {
 public:
  using Reconcile = std::function<Result<Action>(const std::string& key)>;

  Runner(WorkQueue& queue, Reconcile reconcile, RunnerOptions options);
  ~Runner();  // stop()
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void start();
  // Shuts the queue down, waits for reconciles in flight, joins. Idempotent.
  void stop();

  // Takes one ready key (non-blocking) and reconciles it on this thread;
  // false when no key was ready. For tests with a ManualClock.
  bool run_once();
  // Enqueues every key of options.all_keys now.
  void resync();

 private:
  void work(const std::string& key);
  void reconcile_and_requeue(const std::string& key);
  void worker_loop();
  void resync_loop(std::stop_token stop);

  WorkQueue& queue_;
  const Reconcile reconcile_;
  const RunnerOptions options_;
  std::vector<std::jthread> workers_;
  std::jthread resync_thread_;
  std::atomic<bool> started_{false};

  // Groups with a reconcile in flight, and the keys waiting for them.
  std::mutex groups_mutex_;
  std::set<std::string> busy_groups_;
  std::map<std::string, std::set<std::string>> parked_;
};

}  // namespace weft::op
