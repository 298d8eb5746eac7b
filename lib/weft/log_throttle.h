#pragma once

// A bound on how often one kind of event is logged: traffic an attacker
// controls must not be able to fill the log. At most one line per interval;
// the events skipped in between are counted and reported with the next line.
// Shared by the workers: lock-free.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace weft {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  // For an event at `now`: the number of events skipped since the last line
  // when this one may be logged, nullopt when it is skipped.
  std::optional<std::uint64_t> admit(Clock::time_point now) {
    const Clock::rep at = now.time_since_epoch().count();
    Clock::rep next = next_.load(std::memory_order_relaxed);
    if (at >= next &&
        next_.compare_exchange_strong(next, at + interval_.count(), std::memory_order_relaxed)) {
      return skipped_.exchange(0, std::memory_order_relaxed);
    }
    skipped_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }

 private:
  const Clock::duration interval_;
  std::atomic<Clock::rep> next_{std::numeric_limits<Clock::rep>::min()};
  std::atomic<std::uint64_t> skipped_{0};
};

// LogThrottle per key (a client): each key gets at most one line per interval,
// with the count of its events skipped meanwhile. The keys remembered are
// bounded: when `max_keys` are and none has had its interval pass, an event
// of a new key falls back to one throttle shared by all such keys (so an
// attacker with many addresses still cannot fill the log, nor the memory).
// Locked: meant for rare events (denials), not the hot path.
class KeyedLogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  KeyedLogThrottle(Clock::duration interval, std::size_t max_keys)
      : interval_(interval), max_keys_(max_keys), overflow_(interval) {}

  // As LogThrottle::admit, for the events of `key`.
  std::optional<std::uint64_t> admit(std::string_view key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto found = keys_.find(key);
    if (found == keys_.end()) {
      if (keys_.size() >= max_keys_) forget_quiet(now);
      if (keys_.size() >= max_keys_) return overflow_.admit(now);
      keys_.emplace(std::string(key), Entry{now + interval_, 0});
      return 0;
    }
    Entry& entry = found->second;
    if (now < entry.next) {
      ++entry.skipped;
      return std::nullopt;
    }
    entry.next = now + interval_;
    return std::exchange(entry.skipped, 0);
  }

  std::size_t keys() const {
    std::lock_guard lock(mutex_);
    return keys_.size();
  }

 private:
  struct Entry {
    Clock::time_point next;
    std::uint64_t skipped = 0;
  };
  // Keys whose interval has passed with nothing skipped: their next event
  // would be logged anyway, so forgetting them loses no count.
  void forget_quiet(Clock::time_point now) {
    std::erase_if(keys_, [now](const auto& item) {
      return now >= item.second.next && item.second.skipped == 0;
    });
  }

  const Clock::duration interval_;
  const std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> keys_;
  LogThrottle overflow_;
};

}  // namespace weft
