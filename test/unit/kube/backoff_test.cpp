#include "weft/kube/backoff.h"

#include <catch2/catch.hpp>

using namespace weft::kube;
using namespace std::chrono_literals;

TEST_CASE("without jitter the delay doubles up to the cap") {
  Backoff backoff({100ms, 1000ms, 2.0, 0.0});
  CHECK(backoff.next() == 100ms);
  CHECK(backoff.next() == 200ms);
  CHECK(backoff.next() == 400ms);
  CHECK(backoff.next() == 800ms);
  CHECK(backoff.next() == 1000ms);
  CHECK(backoff.next() == 1000ms);
  CHECK(backoff.attempts() == 6);
  backoff.reset();
  CHECK(backoff.next() == 100ms);
}

TEST_CASE("jitter scales each delay within [1 - j, 1 + j]") {
  double draw = 0.0;
  Backoff backoff({1000ms, 30'000ms, 2.0, 0.5}, [&] { return draw; });
  draw = 0.0;  // lowest
  CHECK(backoff.next() == 500ms);
  draw = 0.5;  // middle
  CHECK(backoff.next() == 2000ms);
  draw = 0.999999;  // highest
  CHECK(backoff.next() == 6000ms);
  draw = 1.7;  // out of range draws are clamped
  CHECK(backoff.next() == 12000ms);
}

TEST_CASE("random jitter stays within bounds") {
  Backoff backoff({800ms, 30'000ms, 2.0, 0.5});
  std::chrono::milliseconds base = 800ms;
  for (int i = 0; i < 20; ++i) {
    auto delay = backoff.next();
    CHECK(delay >= base / 2);
    CHECK(delay <= base * 3 / 2);
    base = std::min<std::chrono::milliseconds>(base * 2, 30'000ms);
  }
}

TEST_CASE("bad policies are made sane") {
  Backoff shrinking({1000ms, 10ms, 0.5, 3.0}, [] { return 0.5; });
  CHECK(shrinking.next() == 1000ms);  // max raised to initial, factor to 1
  CHECK(shrinking.next() == 1000ms);
}
