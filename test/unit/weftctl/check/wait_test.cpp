#include "weftctl/check/wait.h"

#include <catch2/catch.hpp>

using namespace weft::ctl::check;
using namespace std::chrono_literals;

namespace {
struct FakeTime {
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> sleeps;
  SteadyClock clock() {
    return [this] { return now; };
  }
  Sleep sleep() {
    return [this](std::chrono::milliseconds pause) {
      sleeps.push_back(pause);
      now += pause;
    };
  }
};
const CheckResults kBad = {fail("c", "x", "", "")};
const CheckResults kGood = {ok("c", "x")};
}  // namespace

TEST_CASE("wait: without --wait, one attempt") {
  FakeTime time;
  int attempts = 0;
  const auto results = check_until_healthy(
      [&] {
        ++attempts;
        return kBad;
      },
      {}, time.clock(), time.sleep());
  CHECK(attempts == 1);
  CHECK(results == kBad);
  CHECK(time.sleeps.empty());
}

TEST_CASE("wait: again until healthy") {
  FakeTime time;
  int attempts = 0;
  const auto results = check_until_healthy([&] { return ++attempts < 3 ? kBad : kGood; },
                                           {5000ms, 2000ms}, time.clock(), time.sleep());
  CHECK(attempts == 3);
  CHECK(results == kGood);
  CHECK(time.sleeps == std::vector<std::chrono::milliseconds>{2000ms, 2000ms});
}

TEST_CASE("wait: the last results at the timeout, the last pause shortened") {
  FakeTime time;
  int attempts = 0;
  const auto results = check_until_healthy(
      [&] {
        ++attempts;
        return kBad;
      },
      {5000ms, 2000ms}, time.clock(), time.sleep());
  CHECK(results == kBad);
  CHECK(attempts == 4);
  CHECK(time.sleeps == std::vector<std::chrono::milliseconds>{2000ms, 2000ms, 1000ms});
}
