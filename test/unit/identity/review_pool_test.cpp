#include "identity/review_pool.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "identity/test_service.h"

using namespace weft;
using namespace weft::identity;
using testing::eventually;
using testing::GateReviewer;

namespace {

// Every end the pool reported, in order.
struct Ends {
  std::mutex mutex;
  std::vector<ReviewEnd::Kind> kinds;
  ReviewPool::Done record() {
    return [this](ReviewEnd end) {
      std::lock_guard lock(mutex);
      kinds.push_back(end.kind);
    };
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return kinds.size();
  }
  std::size_t count(ReviewEnd::Kind kind) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), kind));
  }
};

// Lets the held reviews go when a failed REQUIRE leaves the scope early, so
// the pool's destructor does not wait for them forever. Declare it after the pool.
struct ReleaseOnExit {
  GateReviewer& reviewer;
  ~ReleaseOnExit() { reviewer.release(); }
};

}  // namespace

TEST_CASE("review pool: the workers bound the reviews in flight, the queue the rest",
          "[identity][review_pool]") {
  GateReviewer reviewer;
  reviewer.hold();
  Ends ends;
  {
    ReviewPool pool(reviewer, {.workers = 2, .queue = 1, .timeout = std::chrono::seconds(600)});
    ReleaseOnExit release_on_exit{reviewer};
    CHECK(pool.submit("a", ends.record()));
    CHECK(pool.submit("b", ends.record()));
    REQUIRE(reviewer.wait_for_waiting(2));
    CHECK(pool.submit("c", ends.record()));
    CHECK(pool.queued() == 1);
    CHECK(pool.busy() == 2);
    // Full: refused, and its callback is never called.
    bool called = false;
    CHECK_FALSE(pool.submit("d", [&](ReviewEnd) { called = true; }));
    CHECK(reviewer.started() == 2);
    reviewer.release();
    REQUIRE(eventually([&] { return ends.size() == 3; }));
    CHECK(ends.count(ReviewEnd::Kind::kAnswered) == 3);
    CHECK_FALSE(called);
    CHECK(pool.queued() == 0);
    CHECK(eventually([&] { return pool.busy() == 0; }));
    // Room again.
    CHECK(pool.submit("e", ends.record()));
    REQUIRE(eventually([&] { return ends.size() == 4; }));
  }
  CHECK(reviewer.answered() == 4);
}

TEST_CASE("review pool: a review not answered in time ends as timed out, once",
          "[identity][review_pool]") {
  GateReviewer reviewer;
  reviewer.hold();
  Ends ends;
  {
    ReviewPool pool(reviewer,
                    {.workers = 1, .queue = 5, .timeout = std::chrono::milliseconds(100)});
    ReleaseOnExit release_on_exit{reviewer};
    std::promise<ReviewEnd> first;
    CHECK(pool.submit("a", [&](ReviewEnd end) { first.set_value(std::move(end)); }));
    REQUIRE(reviewer.wait_for_waiting(1));
    CHECK(pool.submit("b", ends.record()));  // waits in the queue
    auto end = first.get_future();
    REQUIRE(end.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    const ReviewEnd timed_out = end.get();
    CHECK(timed_out.kind == ReviewEnd::Kind::kTimedOut);
    REQUIRE_FALSE(timed_out.answer);
    CHECK_THAT(timed_out.answer.error().message, Catch::Contains("100 ms"));
    // The queued one timed out too, and left the queue without a review.
    REQUIRE(eventually([&] { return ends.size() == 1; }));
    CHECK(ends.count(ReviewEnd::Kind::kTimedOut) == 1);
    CHECK(pool.queued() == 0);
    CHECK(pool.busy() == 1);  // the worker is still held
    reviewer.release();
    CHECK(eventually([&] { return pool.busy() == 0; }));
  }
  // The late answer was dropped (the promise would have thrown on a second value).
  CHECK(reviewer.started() == 1);
  CHECK(reviewer.answered() == 1);
  CHECK(ends.size() == 1);
}

TEST_CASE("review pool: stopping ends the waiting reviews and finishes those in progress",
          "[identity][review_pool]") {
  GateReviewer reviewer;
  reviewer.hold();
  Ends ends;
  auto pool = std::make_unique<ReviewPool>(
      reviewer, ReviewPoolLimits{.workers = 1, .queue = 2, .timeout = std::chrono::seconds(600)});
  CHECK(pool->submit("a", ends.record()));
  REQUIRE(reviewer.wait_for_waiting(1));
  CHECK(pool->submit("b", ends.record()));
  CHECK(pool->submit("c", ends.record()));
  std::thread stopper([&] { pool.reset(); });
  // The queued ones end at once, though the worker is still held.
  REQUIRE(eventually([&] { return ends.count(ReviewEnd::Kind::kStopped) == 2; }));
  reviewer.release();
  stopper.join();
  CHECK(ends.count(ReviewEnd::Kind::kAnswered) == 1);
  CHECK(reviewer.started() == 1);
}
