#include "weft/duration.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

milliseconds parse_ok(std::string_view text) {
  const auto parsed = weft::parse_duration(text);
  INFO("input: " << text);
  REQUIRE(parsed.has_value());
  return *parsed;
}

std::string parse_error(std::string_view text) {
  const auto parsed = weft::parse_duration(text);
  INFO("input: " << text);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error().message;
}

std::string format_ok(milliseconds duration) {
  const auto formatted = weft::format_duration(duration);
  INFO("duration ms: " << duration.count());
  REQUIRE(formatted.has_value());
  return *formatted;
}

}  // namespace

TEST_CASE("parse_duration accepts each unit", "[duration]") {
  CHECK(parse_ok("1h") == 1h);
  CHECK(parse_ok("1m") == 1min);
  CHECK(parse_ok("1s") == 1s);
  CHECK(parse_ok("1ms") == 1ms);
  CHECK(parse_ok("500ms") == 500ms);
  CHECK(parse_ok("0s") == 0ms);
  CHECK(parse_ok("0ms") == 0ms);
  CHECK(parse_ok("0h0m0s") == 0ms);
}

TEST_CASE("parse_duration adds components up", "[duration]") {
  CHECK(parse_ok("1h30m") == 90min);
  CHECK(parse_ok("2h30m") == 9000s);
  CHECK(parse_ok("1h30m10s") == 5410s);
  CHECK(parse_ok("1h30m30s500ms") == 1h + 30min + 30s + 500ms);
  CHECK(parse_ok("150m") == 9000s);
  CHECK(parse_ok("7230s") == 7230s);
}

TEST_CASE("parse_duration reads leading zeroes as decimal", "[duration]") {
  CHECK(parse_ok("01h") == 1h);
  CHECK(parse_ok("00060m") == 1h);
  CHECK(parse_ok("00010s") == 10s);  // not octal 8
  CHECK(parse_ok("00000s") == 0ms);
}

TEST_CASE("parse_duration accepts repeated and unordered units, as Go does", "[duration]") {
  // The CRD regex admits these, so the API server stores them; rejecting them
  // later would leave a resource that can never be applied.
  CHECK(parse_ok("1h1h") == 2h);
  CHECK(parse_ok("10s30m1h") == 5410s);
  CHECK(parse_ok("100ms200ms300ms") == 600ms);
  CHECK(parse_ok("1ms1s") == 1001ms);
}

TEST_CASE("parse_duration accepts the limits", "[duration]") {
  CHECK(parse_ok("99999h") == 99999h);
  CHECK(parse_ok("99999ms") == 99999ms);
  CHECK(parse_ok("99999h59m59s999ms") == weft::kMaxDuration);
}

TEST_CASE("parse_duration rejects empty input", "[duration]") {
  CHECK_THAT(parse_error(""), Catch::Contains("empty"));
}

TEST_CASE("parse_duration rejects a number without a unit", "[duration]") {
  CHECK_THAT(parse_error("1"), Catch::Contains("no unit"));
  CHECK_THAT(parse_error("0"), Catch::Contains("no unit"));
  CHECK_THAT(parse_error("1m1"), Catch::Contains("number 1 at position 2 has no unit"));
}

TEST_CASE("parse_duration rejects a unit without a number", "[duration]") {
  CHECK_THAT(parse_error("h"), Catch::Contains("no number"));
  CHECK_THAT(parse_error("ms"), Catch::Contains("no number"));
  CHECK_THAT(parse_error("1hm"), Catch::Contains("unknown unit \"hm\""));
}

TEST_CASE("parse_duration rejects units other than h, m, s, ms", "[duration]") {
  for (const char* text : {"1d", "1us", "1ns", "1H", "1S", "1MS", "1min", "1sec", "1mss", "1w"}) {
    INFO(text);
    CHECK_THAT(parse_error(text),
               Catch::Contains("unknown unit") && Catch::Contains("expected h, m, s or ms"));
  }
  CHECK_THAT(parse_error("1d"), Catch::Contains("unknown unit \"d\" at position 1"));
}

TEST_CASE("parse_duration rejects more than five digits", "[duration]") {
  CHECK_THAT(parse_error("100000s"),
             Catch::Contains("number at position 0 has 6 digits; at most 5 are allowed"));
  CHECK_THAT(parse_error("999999h"), Catch::Contains("6 digits"));
  CHECK_THAT(parse_error("1h000001s"), Catch::Contains("at position 2"));
}

TEST_CASE("parse_duration rejects numbers that would overflow", "[duration]") {
  // Far past int64: must be an error, never a wrapped value.
  CHECK_THAT(parse_error("99999999999999999999999h"), Catch::Contains("at most 5 are allowed"));
  CHECK_THAT(parse_error("9223372036854775808ms"), Catch::Contains("at most 5 are allowed"));
}

TEST_CASE("parse_duration rejects totals above the canonical maximum", "[duration]") {
  CHECK_THAT(parse_error("99999h59m59s1000ms"), Catch::Contains("exceeds the maximum"));
  CHECK_THAT(parse_error("99999h60m"), Catch::Contains("exceeds the maximum"));
  CHECK_THAT(parse_error("99999h99999h99999h99999h"), Catch::Contains("exceeds the maximum"));
}

TEST_CASE("parse_duration rejects more than four parts", "[duration]") {
  CHECK_THAT(parse_error("1h30m10s20ms50h"), Catch::Contains("more than 4 parts"));
  CHECK_THAT(parse_error("1s1s1s1s1s"), Catch::Contains("position 8"));
  CHECK(parse_ok("1s1s1s1s") == 4s);
}

TEST_CASE("parse_duration rejects signs", "[duration]") {
  CHECK_THAT(parse_error("-1s"), Catch::Contains("negative"));
  CHECK_THAT(parse_error("-0s"), Catch::Contains("negative"));
  CHECK_THAT(parse_error("+1s"), Catch::Contains("unexpected '+' at position 0"));
  CHECK_THAT(parse_error("1h-5m"), Catch::Contains("unexpected '-' at position 2"));
}

TEST_CASE("parse_duration rejects fractions", "[duration]") {
  CHECK_THAT(parse_error("1.5h"), Catch::Contains("unexpected '.' at position 1"));
  CHECK_THAT(parse_error("0.5m"), Catch::Contains("unexpected '.'"));
  CHECK_THAT(parse_error(".5s"), Catch::Contains("unexpected '.' at position 0"));
}

TEST_CASE("parse_duration rejects whitespace and other characters", "[duration]") {
  CHECK_THAT(parse_error(" 1s"), Catch::Contains("unexpected space at position 0"));
  CHECK_THAT(parse_error("1s "), Catch::Contains("unexpected space at position 2"));
  CHECK_THAT(parse_error("1 s"), Catch::Contains("unexpected space at position 1"));
  CHECK_THAT(parse_error("1h\n"), Catch::Contains("unexpected byte 0x0a"));
  CHECK_THAT(parse_error("1h 30m"), Catch::Contains("position 2"));
  CHECK_THAT(parse_error("1\xc2\xb5s"), Catch::Contains("unexpected byte 0xc2"));  // "1µs"
  CHECK_THAT(parse_error(std::string_view("1s\0", 3)), Catch::Contains("unexpected byte 0x00"));
  CHECK_THAT(parse_error("1h,30m"), Catch::Contains("unexpected ','"));
  CHECK_THAT(parse_error("PT1H"), Catch::Contains("no number"));  // ISO 8601 is not accepted
}

TEST_CASE("parse_duration errors quote the input, truncated", "[duration]") {
  CHECK_THAT(parse_error("1d"), Catch::StartsWith("invalid duration \"1d\": "));
  const std::string long_input = std::string(1000, '1');
  const std::string message = parse_error(long_input);
  CHECK(message.size() < 200);
  CHECK_THAT(message, Catch::Contains("...") && Catch::Contains("has 1000 digits"));
  CHECK(parse_error("1" + std::string(1000, 'x')).size() < 200);
  // Control characters in the input are escaped, not written raw into the message.
  CHECK_THAT(parse_error("\n"), Catch::StartsWith("invalid duration \"\\n\""));
}

TEST_CASE("format_duration gives the canonical form", "[duration]") {
  CHECK(format_ok(0ms) == "0s");
  CHECK(format_ok(1ms) == "1ms");
  CHECK(format_ok(500ms) == "500ms");
  CHECK(format_ok(1000ms) == "1s");
  CHECK(format_ok(1500ms) == "1s500ms");
  CHECK(format_ok(60s) == "1m");
  CHECK(format_ok(90min) == "1h30m");
  CHECK(format_ok(1h) == "1h");
  CHECK(format_ok(1h + 1ms) == "1h1ms");
  CHECK(format_ok(5410s) == "1h30m10s");
  CHECK(format_ok(25h) == "25h");  // no days unit
  CHECK(format_ok(weft::kMaxDuration) == "99999h59m59s999ms");
}

TEST_CASE("format_duration rejects what has no canonical form", "[duration]") {
  const auto negative = weft::format_duration(-1ms);
  REQUIRE_FALSE(negative.has_value());
  CHECK_THAT(negative.error().message, Catch::Contains("negative"));

  const auto too_long = weft::format_duration(weft::kMaxDuration + 1ms);
  REQUIRE_FALSE(too_long.has_value());
  CHECK_THAT(too_long.error().message, Catch::Contains("exceeds the maximum"));
}

TEST_CASE("format then parse round-trips", "[duration]") {
  for (const milliseconds d :
       {0ms, 1ms, 999ms, 1000ms, 1001ms, milliseconds(59'999), milliseconds(60'000),
        milliseconds(3'599'999), milliseconds(3'600'000), milliseconds(3'600'001),
        milliseconds(123'456'789), weft::kMaxDuration - 1ms, weft::kMaxDuration}) {
    INFO("duration ms: " << d.count());
    CHECK(parse_ok(format_ok(d)) == d);
  }
}

TEST_CASE("parse then format normalises", "[duration]") {
  CHECK(format_ok(parse_ok("60m")) == "1h");
  CHECK(format_ok(parse_ok("00060m")) == "1h");
  CHECK(format_ok(parse_ok("10s30m1h")) == "1h30m10s");
  CHECK(format_ok(parse_ok("1h1h")) == "2h");
  CHECK(format_ok(parse_ok("0h0m0s")) == "0s");
  CHECK(format_ok(parse_ok("1500ms")) == "1s500ms");
  CHECK(format_ok(parse_ok("99999h59m59s999ms")) == "99999h59m59s999ms");
}
