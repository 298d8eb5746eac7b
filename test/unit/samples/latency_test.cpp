#include "samples/app/latency.h"

#include <catch2/catch.hpp>

#include "samples/app/failure_rate.h"

using namespace weft::samples;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST_CASE("latency: a fixed duration", "[latency]") {
  auto spec = parse_latency("5ms");
  REQUIRE(spec);
  CHECK(spec->base == milliseconds(5));
  CHECK(spec->jitter == milliseconds(0));
  std::mt19937_64 random(1);
  CHECK(sample_latency(*spec, random) == microseconds(5000));
  CHECK(to_string(*spec) == "5ms");
  CHECK(to_string(*parse_latency("0s")) == "0s");
}

TEST_CASE("latency: a uniform spread, with ± or +-", "[latency]") {
  for (const char* text : {"5ms±2ms", "5ms+-2ms"}) {
    auto spec = parse_latency(text);
    REQUIRE(spec);
    CHECK(spec->base == milliseconds(5));
    CHECK(spec->jitter == milliseconds(2));
    CHECK(to_string(*spec) == "5ms±2ms");
  }
}

TEST_CASE("latency: samples stay in range and spread over it", "[latency]") {
  const LatencySpec spec{milliseconds(5), milliseconds(2)};
  std::mt19937_64 random(42);
  microseconds low = microseconds::max();
  microseconds high = microseconds::min();
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const auto sample = sample_latency(spec, random);
    REQUIRE(sample >= microseconds(3000));
    REQUIRE(sample <= microseconds(7000));
    low = std::min(low, sample);
    high = std::max(high, sample);
    sum += static_cast<double>(sample.count());
  }
  // Uniform on [3000, 7000] us: over 20,000 draws the extremes come within
  // 100 us of the bounds and the mean within 50 us of 5000 (about 4 standard
  // errors), so these fail only if the distribution is wrong.
  CHECK(low < microseconds(3100));
  CHECK(high > microseconds(6900));
  CHECK(sum / n == Approx(5000).margin(50));
}

TEST_CASE("latency: bad input names the problem", "[latency]") {
  CHECK(parse_latency("5").error().message.find("latency \"5\"") != std::string::npos);
  CHECK(!parse_latency(""));
  CHECK(!parse_latency("-5ms"));
  CHECK(parse_latency("5ms±").error().message.find("spread") != std::string::npos);
  CHECK(parse_latency("2ms±5ms").error().message.find("must not exceed") != std::string::npos);
  CHECK(!parse_latency("5ms±2"));
}

TEST_CASE("failure rate: parsing", "[failure]") {
  CHECK(*parse_failure_rate("0") == 0.0);
  CHECK(*parse_failure_rate("0.2") == Approx(0.2));
  CHECK(*parse_failure_rate("1") == 1.0);
  for (const char* bad : {"", "-0.1", "1.5", "20%", "nan", "inf", "0.2x"}) {
    INFO(bad);
    auto rate = parse_failure_rate(bad);
    REQUIRE(!rate);
    CHECK(rate.error().message.find("from 0 to 1") != std::string::npos);
  }
}

TEST_CASE("failure rate: draws fail at the configured rate", "[failure]") {
  std::mt19937_64 random(7);
  const int n = 100000;
  int failures = 0;
  for (int i = 0; i < n; ++i) failures += draw_failure(0.2, random) ? 1 : 0;
  // Binomial(100000, 0.2): standard deviation about 126, so ±1000 is 8 sigma.
  CHECK(failures == Approx(20000).margin(1000));
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(!draw_failure(0.0, random));
    REQUIRE(draw_failure(1.0, random));
  }
}
