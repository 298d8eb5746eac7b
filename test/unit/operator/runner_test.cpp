// The runner's guarantee across keys: two keys of one group (the "<ns>" and
// "status/<ns>" keys of the operator) are never reconciled at once, while
// other keys keep the workers busy.

#include "operator/runner.h"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "operator/clock.h"
#include "operator/work_queue.h"

using namespace std::chrono_literals;
using weft::op::Action;
using weft::op::Runner;
using weft::op::RunnerOptions;
using weft::op::WorkQueue;

TEST_CASE("runner: two keys of one group are never reconciled at once", "[runner]") {
  weft::op::SteadyClock clock;
  WorkQueue queue(clock);
  std::mutex mutex;
  std::condition_variable changed;
  bool a_running = false;
  bool overlapped = false;  // status/a started while a was running
  std::vector<std::string> finished;
  RunnerOptions options;
  options.workers = 2;
  options.group_of = [](const std::string& key) {
    return key.starts_with("status/") ? key.substr(7) : key;
  };
  Runner runner(
      queue,
      [&](const std::string& key) -> weft::Result<Action> {
        std::unique_lock lock(mutex);
        if (key == "a") {
          a_running = true;
          changed.notify_all();
          // Gives the other worker every chance to start status/a meanwhile;
          // an overlap ends the wait at once.
          changed.wait_for(lock, 300ms, [&] { return overlapped; });
          a_running = false;
        } else if (key == "status/a" && a_running) {
          overlapped = true;
        }
        finished.push_back(key);
        changed.notify_all();
        return Action::await_change();
      },
      options);
  queue.add("a");
  runner.start();
  {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, 5s, [&] { return a_running; }));
  }
  queue.add("status/a");
  queue.add("b");
  {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, 5s, [&] { return finished.size() == 3; }));
  }
  runner.stop();
  CHECK_FALSE(overlapped);
  // b did not wait for a's group: the parked key let the worker go on.
  CHECK(finished == std::vector<std::string>{"b", "a", "status/a"});
}
