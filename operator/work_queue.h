#pragma once

// The work queue between watch events and reconciles (client-go's workqueue,
// kube-rs' scheduler):
// - a key added while already waiting is merged (one reconcile serves both);
// - a key is never handed out twice at once: added while being worked, it is
//   queued again when done() is called;
// - add_after() delays a key (the earliest requested time wins);
// - add_rate_limited() delays it by a per-key exponential backoff with jitter
//   (weft::backoff_delay: jitter shortens, so `max` holds), reset by forget()
//   after a success.
// Thread-safe. Time comes from a Clock, so tests control it (try_get()).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "operator/clock.h"

namespace weft::op {

struct BackoffSettings {
  std::chrono::milliseconds base{5};
  std::chrono::milliseconds max{60'000};
  // Each delay d is drawn from [(1 - jitter) * d, d]: never above max.
  double jitter = 0.5;
};

class WorkQueue {
 public:
  // random01 returns a number in [0, 1) for the jitter; default: a seeded PRNG.
  explicit WorkQueue(const Clock& clock, BackoffSettings backoff = {},
                     std::function<double()> random01 = {});

  void add(const std::string& key);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  // Delay for the key's next failure: base * 2^(failures-1), capped, then
  // jittered downwards.
  // Returns the delay chosen.
  std::chrono::milliseconds add_rate_limited(const std::string& key);
  // Resets the key's failure count (call after a successful reconcile).
  void forget(const std::string& key);
  int failures(const std::string& key) const;

  // Blocks until a key is ready or shutdown(); nullopt after shutdown.
  std::optional<std::string> get();
  // A ready key if there is one now (delayed keys that are due count), else nullopt.
  std::optional<std::string> try_get();
  // Must follow every get()/try_get() that returned a key.
  void done(const std::string& key);

  // Wakes every get(); later add()s are ignored.
  void shutdown();
  bool shutting_down() const;

  // Keys ready to be worked (for the queue depth metric), and delayed ones.
  std::size_t depth() const;
  std::size_t delayed() const;

 private:
  void add_locked(const std::string& key);
  // Moves due delayed keys to the ready queue.
  void promote_due_locked();
  std::optional<std::string> pop_locked();

  const Clock& clock_;
  const BackoffSettings backoff_;
  std::function<double()> random01_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> ready_;
  std::set<std::string> dirty_;       // queued or to be queued again after done()
  std::set<std::string> processing_;  // handed out, done() not yet called
  std::map<std::string, Clock::TimePoint> delayed_;
  std::map<std::string, int> failures_;
  bool shutdown_ = false;
};

}  // namespace weft::op
