// The work queue and runner with a ManualClock: merging, never-twice-at-once,
// delays, per-key exponential backoff with jitter, error policy.

#include "operator/work_queue.h"

#include <catch2/catch.hpp>
#include <set>

#include "operator/clock.h"
#include "operator/runner.h"

using namespace std::chrono_literals;
using weft::op::Action;
using weft::op::ManualClock;
using weft::op::OnError;
using weft::op::Runner;
using weft::op::RunnerOptions;
using weft::op::WorkQueue;

TEST_CASE("work queue: duplicate keys are merged", "[queue]") {
  ManualClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  queue.add("b");
  queue.add("a");
  CHECK(queue.depth() == 2);
  CHECK(queue.try_get() == "a");
  CHECK(queue.try_get() == "b");
  CHECK_FALSE(queue.try_get().has_value());
}

TEST_CASE("work queue: a key is never handed out twice at once", "[queue]") {
  ManualClock clock;
  WorkQueue queue(clock);
  queue.add("a");
  auto first = queue.try_get();
  REQUIRE(first == "a");
  queue.add("a");  // changed while being worked
  queue.add("a");
  CHECK_FALSE(queue.try_get().has_value());  // not while in progress
  queue.done("a");
  CHECK(queue.try_get() == "a");  // once more, merged
  queue.done("a");
  CHECK_FALSE(queue.try_get().has_value());
}

TEST_CASE("work queue: delayed keys become ready when due", "[queue]") {
  ManualClock clock;
  WorkQueue queue(clock);
  queue.add_after("a", 100ms);
  queue.add_after("a", 50ms);  // the earliest wins
  CHECK(queue.delayed() == 1);
  CHECK_FALSE(queue.try_get().has_value());
  clock.advance(49ms);
  CHECK_FALSE(queue.try_get().has_value());
  clock.advance(1ms);
  CHECK(queue.try_get() == "a");
  queue.done("a");
  // add() makes a delayed key due at once.
  queue.add_after("b", 1h);
  queue.add("b");
  CHECK(queue.try_get() == "b");
}

TEST_CASE("work queue: per-key exponential backoff with jitter, reset by forget", "[queue]") {
  ManualClock clock;
  double jitter_draw = 0.0;
  WorkQueue queue(clock, {10ms, 1000ms, 0.5}, [&] { return jitter_draw; });
  CHECK(queue.add_rate_limited("a") == 10ms);
  CHECK(queue.add_rate_limited("a") == 20ms);
  CHECK(queue.add_rate_limited("a") == 40ms);
  CHECK(queue.failures("a") == 3);
  CHECK(queue.add_rate_limited("b") == 10ms);  // per key
  for (int i = 0; i < 20; ++i) (void)queue.add_rate_limited("a");
  CHECK(queue.add_rate_limited("a") == 1000ms);  // capped
  jitter_draw = 0.999;
  const auto jittered = queue.add_rate_limited("a");
  CHECK(jittered < 1000ms);  // jitter shortens the delay
  CHECK(jittered >= 500ms);  // by at most half
  queue.forget("a");
  CHECK(queue.failures("a") == 0);
  jitter_draw = 0.0;
  CHECK(queue.add_rate_limited("a") == 10ms);
}

TEST_CASE("work queue: shutdown wakes get() and refuses new keys", "[queue]") {
  ManualClock clock;
  WorkQueue queue(clock);
  std::thread waiter([&] { CHECK_FALSE(queue.get().has_value()); });
  queue.shutdown();
  waiter.join();
  queue.add("a");
  CHECK(queue.depth() == 0);
}

TEST_CASE("work queue: the maximum backoff holds after jitter", "[queue]") {
  // The controller's settings: 50 ms doubling to 60 s, jitter 0.5. Jitter
  // used to stretch the capped delay by up to 50 %, to 90 s.
  ManualClock clock;
  double jitter_draw = 0.0;
  WorkQueue queue(clock, {50ms, 60s, 0.5}, [&] { return jitter_draw; });
  for (int i = 0; i < 30; ++i) {
    for (double draw : {0.0, 0.5, 0.999999}) {
      jitter_draw = draw;
      CHECK(queue.add_rate_limited("a") <= 60s);
    }
  }
  jitter_draw = 0.0;
  CHECK(queue.add_rate_limited("a") == 60s);  // the cap is reached
  jitter_draw = 0.999999;
  CHECK(queue.add_rate_limited("a") >= 30s);  // and jitter keeps at least half
}

TEST_CASE("runner: errors are retried with backoff, success forgets, requeue delays", "[runner]") {
  ManualClock clock;
  WorkQueue queue(clock, {100ms, 10s, 0.0});
  int calls = 0;
  bool fail = true;
  RunnerOptions options;
  options.workers = 0;  // driven by run_once()
  Runner runner(
      queue,
      [&](const std::string& key) -> weft::Result<Action> {
        ++calls;
        CHECK(key == "ns");
        if (fail) return weft::Error{"boom"};
        return Action::requeue(5s);
      },
      options);
  queue.add("ns");
  REQUIRE(runner.run_once());
  CHECK(calls == 1);
  CHECK(queue.failures("ns") == 1);
  CHECK_FALSE(runner.run_once());  // backing off
  clock.advance(100ms);
  REQUIRE(runner.run_once());
  CHECK(calls == 2);
  CHECK(queue.failures("ns") == 2);
  clock.advance(150ms);
  CHECK_FALSE(runner.run_once());  // second delay is 200ms
  clock.advance(50ms);
  fail = false;
  REQUIRE(runner.run_once());
  CHECK(calls == 3);
  CHECK(queue.failures("ns") == 0);  // forgotten after success
  clock.advance(4999ms);
  CHECK_FALSE(runner.run_once());
  clock.advance(1ms);
  CHECK(runner.run_once());  // requeued after 5s
  CHECK(calls == 4);
}

TEST_CASE("runner: a terminal error is not retried", "[runner]") {
  ManualClock clock;
  WorkQueue queue(clock, {1ms, 1ms, 0.0});
  RunnerOptions options;
  options.workers = 0;
  options.error_policy = [](const std::string&, const weft::Error&) { return OnError::kGiveUp; };
  int calls = 0;
  Runner runner(
      queue,
      [&](const std::string&) -> weft::Result<Action> {
        ++calls;
        return weft::Error{"permanent"};
      },
      options);
  queue.add("ns");
  REQUIRE(runner.run_once());
  clock.advance(1h);
  CHECK_FALSE(runner.run_once());
  CHECK(calls == 1);
}

TEST_CASE("runner: worker threads never reconcile one key concurrently", "[runner]") {
  weft::op::SteadyClock clock;
  WorkQueue queue(clock);
  std::mutex mutex;
  std::set<std::string> in_flight;
  std::atomic<int> overlaps{0};
  std::atomic<int> calls{0};
  RunnerOptions options;
  options.workers = 4;
  Runner runner(
      queue,
      [&](const std::string& key) -> weft::Result<Action> {
        {
          std::lock_guard lock(mutex);
          if (!in_flight.insert(key).second) ++overlaps;
        }
        std::this_thread::sleep_for(1ms);
        {
          std::lock_guard lock(mutex);
          in_flight.erase(key);
        }
        ++calls;
        return Action::await_change();
      },
      options);
  runner.start();
  for (int round = 0; round < 200; ++round) {
    queue.add("k" + std::to_string(round % 3));
  }
  // Bounded wait for the queue to drain.
  for (int i = 0; i < 5000 && (queue.depth() > 0 || calls.load() < 3); ++i) {
    std::this_thread::sleep_for(1ms);
  }
  runner.stop();
  CHECK(overlaps.load() == 0);
  CHECK(calls.load() >= 3);
}

TEST_CASE("runner: resync enqueues every key", "[runner]") {
  ManualClock clock;
  WorkQueue queue(clock);
  RunnerOptions options;
  options.workers = 0;
  options.all_keys = [] { return std::vector<std::string>{"a", "b", "c"}; };
  std::vector<std::string> seen;
  Runner runner(
      queue,
      [&](const std::string& key) -> weft::Result<Action> {
        seen.push_back(key);
        return Action::await_change();
      },
      options);
  runner.resync();
  while (runner.run_once()) {
  }
  CHECK(seen == std::vector<std::string>{"a", "b", "c"});
}
