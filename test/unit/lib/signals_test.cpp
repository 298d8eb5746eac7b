#include "weft/signals.h"

#include <pthread.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("StopSignals receives SIGTERM and SIGINT", "[signals]") {
  weft::StopSignals stop;
  // Blocked, so the default action (terminate) does not run: it waits for us.
  // Sent to this thread: another thread of the test runner might not block it.
  REQUIRE(pthread_kill(pthread_self(), SIGTERM) == 0);
  CHECK(stop.wait() == SIGTERM);
  REQUIRE(pthread_kill(pthread_self(), SIGINT) == 0);
  CHECK(stop.wait_for(1s) == SIGINT);
  CHECK(weft::signal_name(SIGTERM) == "SIGTERM");
  CHECK(weft::signal_name(SIGINT) == "SIGINT");
  CHECK(weft::signal_name(SIGHUP) == "signal");
}

TEST_CASE("StopSignals::wait_for times out without a signal", "[signals]") {
  weft::StopSignals stop;
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(stop.wait_for(30ms).has_value());
  CHECK(std::chrono::steady_clock::now() - start >= 30ms);
}

TEST_CASE("threads started after StopSignals inherit the mask", "[signals]") {
  weft::StopSignals stop;
  bool blocked_in_thread = false;
  std::thread([&] {
    sigset_t current;
    pthread_sigmask(SIG_BLOCK, nullptr, &current);
    blocked_in_thread = sigismember(&current, SIGTERM) == 1 && sigismember(&current, SIGINT) == 1;
  }).join();
  CHECK(blocked_in_thread);
}

TEST_CASE("a signal pending when StopSignals ends does not terminate the program", "[signals]") {
  {
    weft::StopSignals stop;
    REQUIRE(pthread_kill(pthread_self(), SIGTERM) == 0);
    CHECK(stop.wait() == SIGTERM);
    // A second SIGTERM during the drain: still pending when the waiter ends.
    REQUIRE(pthread_kill(pthread_self(), SIGTERM) == 0);
  }
  // Had the mask been restored, the default action would have ended the
  // test process above; the pending signal is taken here instead.
  weft::StopSignals again;
  CHECK(again.wait_for(1s) == SIGTERM);
}
