#include "operator/work_queue.h"

#include <algorithm>
#include <random>

#include "weft/backoff.h"

namespace weft::op {

WorkQueue::WorkQueue(const Clock& clock, BackoffSettings backoff, std::function<double()> random01)
    : clock_(clock), backoff_(backoff), random01_(std::move(random01)) {
  if (!random01_) {
    random01_ = [engine = std::mt19937_64(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

void WorkQueue::add(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    add_locked(key);
  }
  cv_.notify_one();
}

void WorkQueue::add_locked(const std::string& key) {
  if (shutdown_ || dirty_.contains(key)) return;
  dirty_.insert(key);
  delayed_.erase(key);  // it is due now
  if (!processing_.contains(key)) ready_.push_back(key);
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds::zero()) return add(key);
  {
    std::lock_guard lock(mutex_);
    if (shutdown_ || dirty_.contains(key)) return;  // already due sooner
    const auto due = clock_.now() + delay;
    auto [it, inserted] = delayed_.try_emplace(key, due);
    if (!inserted) it->second = std::min(it->second, due);
  }
  cv_.notify_one();  // a waiting get() recomputes its deadline
}

std::chrono::milliseconds WorkQueue::add_rate_limited(const std::string& key) {
  std::chrono::milliseconds delay{};
  {
    std::lock_guard lock(mutex_);
    const int failures = ++failures_[key];
    delay = backoff_delay({backoff_.base, backoff_.max, 2.0, backoff_.jitter}, failures - 1,
                          random01_());
  }
  add_after(key, delay);
  return delay;
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promote_due_locked() {
  const auto now = clock_.now();
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second <= now) {
      const std::string key = it->first;
      it = delayed_.erase(it);
      add_locked(key);
    } else {
      ++it;
    }
  }
}

std::optional<std::string> WorkQueue::pop_locked() {
  if (ready_.empty()) return std::nullopt;
  std::string key = std::move(ready_.front());
  ready_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (shutdown_) return std::nullopt;
    promote_due_locked();
    if (auto key = pop_locked()) return key;
    // Sleep until the next delayed key is due (real time; a ManualClock test
    // uses try_get), or a notification.
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      auto next = std::min_element(delayed_.begin(), delayed_.end(), [](auto& a, auto& b) {
                    return a.second < b.second;
                  })->second;
      const auto wait = std::clamp<std::chrono::steady_clock::duration>(
          next - clock_.now(), std::chrono::milliseconds(1), std::chrono::milliseconds(500));
      cv_.wait_for(lock, wait);
    }
  }
}

std::optional<std::string> WorkQueue::try_get() {
  std::lock_guard lock(mutex_);
  if (shutdown_) return std::nullopt;
  promote_due_locked();
  return pop_locked();
}

void WorkQueue::done(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    processing_.erase(key);
    if (dirty_.contains(key) && !shutdown_) ready_.push_back(key);
  }
  cv_.notify_one();
}

void WorkQueue::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard lock(mutex_);
  return shutdown_;
}

std::size_t WorkQueue::depth() const {
  std::lock_guard lock(mutex_);
  return ready_.size();
}

std::size_t WorkQueue::delayed() const {
  std::lock_guard lock(mutex_);
  return delayed_.size();
}

}  // namespace weft::op
