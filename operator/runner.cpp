#include "operator/runner.h"

#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace weft::op {

Runner::Runner(WorkQueue& queue, Reconcile reconcile, RunnerOptions options)
    : queue_(queue), reconcile_(std::move(reconcile)), options_(std::move(options)) {}

Runner::~Runner() {
  stop();
}

void Runner::start() {
  if (started_.exchange(true)) return;
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { worker_loop(); });
  }
  if (options_.resync_period.count() > 0 && options_.all_keys) {
    resync_thread_ = std::jthread([this](std::stop_token stop) { resync_loop(stop); });
  }
}

void Runner::stop() {
  queue_.shutdown();
  if (resync_thread_.joinable()) {
    resync_thread_.request_stop();
    resync_thread_.join();
  }
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

bool Runner::run_once() {
  auto key = queue_.try_get();
  if (!key) return false;
  work(*key);
  return true;
}

void Runner::resync() {
  if (!options_.all_keys) return;
  for (const auto& key : options_.all_keys()) queue_.add(key);
}

void Runner::work(const std::string& key) {
  std::string group;
  if (options_.group_of) {
    group = options_.group_of(key);
    std::lock_guard lock(groups_mutex_);
    if (!busy_groups_.insert(group).second) {
      // Another key of the group is in flight: this one goes back to the
      // queue when that one is done, and the worker takes the next key.
      parked_[group].insert(key);
      queue_.done(key);
      return;
    }
  }
  reconcile_and_requeue(key);
  if (!options_.group_of) return;
  std::set<std::string> waiting;
  {
    std::lock_guard lock(groups_mutex_);
    busy_groups_.erase(group);
    if (auto it = parked_.find(group); it != parked_.end()) {
      waiting = std::move(it->second);
      parked_.erase(it);
    }
  }
  for (const auto& parked : waiting) queue_.add(parked);
}

void Runner::reconcile_and_requeue(const std::string& key) {
  const auto start = std::chrono::steady_clock::now();
  Result<Action> result = Error{"reconcile threw"};
  try {
    result = reconcile_(key);
  } catch (const std::exception& e) {
    // A bug, not bad input; keep the operator alive and retry with backoff.
    result = Error{std::string("reconcile threw: ") + e.what()};
  }
  const auto duration = std::chrono::steady_clock::now() - start;
  if (options_.on_reconciled) {
    options_.on_reconciled({key, duration, result.has_value() ? nullptr : &result.error()});
  }
  if (result.has_value()) {
    queue_.forget(key);
    if (result->requeue_after) queue_.add_after(key, *result->requeue_after);
  } else {
    const OnError decision = options_.error_policy ? options_.error_policy(key, result.error())
                                                   : OnError::kRetryWithBackoff;
    if (decision == OnError::kRetryWithBackoff) {
      queue_.add_rate_limited(key);
    } else {
      queue_.forget(key);
    }
  }
  queue_.done(key);
}

void Runner::worker_loop() {
  while (auto key = queue_.get()) work(*key);
}

void Runner::resync_loop(std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  while (!stop.stop_requested()) {
    if (cv.wait_for(lock, stop, options_.resync_period, [] { return false; })) break;
    if (stop.stop_requested()) break;
    resync();
  }
}

}  // namespace weft::op
