#include "weft/log.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using nlohmann::json;
using weft::LogLevel;

namespace {

// Collects lines; the logger serialises sink calls, so no lock here on purpose:
// the concurrency test relies on the logger doing it.
struct Capture {
  std::vector<std::string> lines;
  weft::LogSink sink() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

json parse_line(const std::string& line) {
  INFO("line: " << line);
  REQUIRE(!line.empty());
  REQUIRE(line.back() == '\n');
  // Exactly one line: the only newline is the terminator.
  REQUIRE(line.find('\n') == line.size() - 1);
  return json::parse(line);  // throws, failing the test, if not valid JSON
}

std::chrono::system_clock::time_point at_ms(std::int64_t ms_since_epoch) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms_since_epoch));
}

}  // namespace

TEST_CASE("log line is one JSON object with the built-in fields", "[log]") {
  Capture capture;
  weft::Logger log("operator", LogLevel::kInfo, capture.sink());
  log.info("reconciled namespace");

  REQUIRE(capture.lines.size() == 1);
  const json event = parse_line(capture.lines[0]);
  CHECK(event["level"] == "info");
  CHECK(event["component"] == "operator");
  CHECK(event["msg"] == "reconciled namespace");
  const std::regex rfc3339_ms(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  CHECK(std::regex_match(event["ts"].get<std::string>(), rfc3339_ms));
  CHECK(event.size() == 4);
  // Built-in keys come first and in a fixed order, so lines read well unparsed.
  CHECK_THAT(capture.lines[0], Catch::StartsWith(R"({"ts":")"));
  CHECK_THAT(
      capture.lines[0],
      Catch::Contains(R"("level":"info","component":"operator","msg":"reconciled namespace"})"));
}

TEST_CASE("log fields keep their JSON types and order", "[log]") {
  Capture capture;
  weft::Logger log("proxy", LogLevel::kDebug, capture.sink());
  log.warn("upstream failed", {{"namespace", "default"},
                               {"attempt", 3},
                               {"retry", true},
                               {"latency_s", 0.25},
                               {"peer", nullptr},
                               {"ports", json::array({80, 443})}});

  REQUIRE(capture.lines.size() == 1);
  const json event = parse_line(capture.lines[0]);
  CHECK(event["level"] == "warn");
  CHECK(event["namespace"] == "default");
  CHECK(event["attempt"] == 3);
  CHECK(event["attempt"].is_number_integer());
  CHECK(event["retry"] == true);
  CHECK(event["latency_s"] == 0.25);
  CHECK(event["peer"].is_null());
  CHECK(event["ports"] == json::array({80, 443}));
  CHECK_THAT(capture.lines[0],
             Catch::EndsWith(R"("msg":"upstream failed","namespace":"default","attempt":3,)"
                             R"("retry":true,"latency_s":0.25,"peer":null,"ports":[80,443]})"
                             "\n"));
}

TEST_CASE("log levels filter below the minimum", "[log]") {
  Capture capture;
  weft::Logger log("webhook", LogLevel::kWarn, capture.sink());
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  REQUIRE(capture.lines.size() == 2);
  CHECK(parse_line(capture.lines[0])["level"] == "warn");
  CHECK(parse_line(capture.lines[1])["level"] == "error");
  CHECK_FALSE(log.enabled(LogLevel::kInfo));
  CHECK(log.enabled(LogLevel::kError));
}

TEST_CASE("log level can be changed at runtime", "[log]") {
  Capture capture;
  weft::Logger log("proxy", LogLevel::kInfo, capture.sink());
  log.debug("hidden");
  CHECK(capture.lines.empty());

  log.set_level(LogLevel::kDebug);
  CHECK(log.level() == LogLevel::kDebug);
  log.debug("shown");
  REQUIRE(capture.lines.size() == 1);
  CHECK(parse_line(capture.lines[0])["msg"] == "shown");

  log.set_level(LogLevel::kError);
  log.warn("hidden again");
  CHECK(capture.lines.size() == 1);
}

TEST_CASE("log escapes quotes, newlines and control characters", "[log]") {
  Capture capture;
  weft::Logger log("op\"erator", LogLevel::kInfo, capture.sink());
  const std::string nasty = "say \"hi\"\nsecond line\r\n\ttab \\ backslash \x01 end";
  log.info(nasty, {{"path", "/a\"b\nc"}, {"we\"ird\nkey", 1}});

  REQUIRE(capture.lines.size() == 1);
  const json event = parse_line(capture.lines[0]);
  CHECK(event["msg"] == nasty);
  CHECK(event["component"] == "op\"erator");
  CHECK(event["path"] == "/a\"b\nc");
  CHECK(event["we\"ird\nkey"] == 1);
  CHECK_THAT(capture.lines[0], Catch::Contains(R"(say \"hi\"\nsecond line\r\n\ttab \\ )"));
  CHECK_THAT(capture.lines[0], Catch::Contains(R"(\u0001)"));
}

TEST_CASE("log never throws on invalid UTF-8", "[log]") {
  Capture capture;
  weft::Logger log("proxy", LogLevel::kInfo, capture.sink());
  const std::string bad = "bad \xff\xfe bytes";
  CHECK_NOTHROW(log.info(bad, {{"header", bad}, {bad, "v"}}));

  REQUIRE(capture.lines.size() == 1);
  const json event = parse_line(capture.lines[0]);
  CHECK(event["msg"] == "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");  // U+FFFD per bad byte
  CHECK(event["header"] == event["msg"]);
}

TEST_CASE("log fields cannot shadow the built-in keys", "[log]") {
  Capture capture;
  weft::Logger log("operator", LogLevel::kInfo, capture.sink());
  log.error("real", {{"msg", "fake"}, {"level", "debug"}, {"ts", 0}, {"component", "x"}});

  REQUIRE(capture.lines.size() == 1);
  const json event = parse_line(capture.lines[0]);
  CHECK(event["msg"] == "real");
  CHECK(event["level"] == "error");
  CHECK(event["component"] == "operator");
  CHECK(event["ts"].is_string());
  CHECK(event["field.msg"] == "fake");
  CHECK(event["field.level"] == "debug");
  CHECK(event["field.ts"] == 0);
  CHECK(event["field.component"] == "x");
}

TEST_CASE("concurrent writers produce whole lines", "[log]") {
  Capture capture;
  weft::Logger log("proxy", LogLevel::kInfo, capture.sink());
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 500;
  // A long message makes a torn write likely to show if the lock were missing.
  const std::string padding(512, 'x');

  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&log, &padding, t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        log.info(padding, {{"thread", t}, {"seq", i}});
      }
    });
  }
  for (auto& writer : writers) writer.join();

  REQUIRE(capture.lines.size() == kThreads * kLinesPerThread);
  std::set<std::pair<int, int>> seen;
  for (const std::string& line : capture.lines) {
    const json event = parse_line(line);
    REQUIRE(event["msg"] == padding);
    seen.emplace(event["thread"].get<int>(), event["seq"].get<int>());
  }
  CHECK(seen.size() == kThreads * kLinesPerThread);
}

TEST_CASE("ostream_sink writes whole lines", "[log]") {
  std::ostringstream out;
  weft::Logger log("webhook", LogLevel::kInfo, weft::ostream_sink(out));
  log.info("one");
  log.info("two");
  std::istringstream in(out.str());
  std::string first, second, rest;
  REQUIRE(std::getline(in, first));
  REQUIRE(std::getline(in, second));
  CHECK_FALSE(std::getline(in, rest));
  CHECK(json::parse(first)["msg"] == "one");
  CHECK(json::parse(second)["msg"] == "two");
}

TEST_CASE("format_log_timestamp is RFC 3339 UTC with milliseconds", "[log]") {
  CHECK(weft::format_log_timestamp(at_ms(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(weft::format_log_timestamp(at_ms(1'714'564'800'123)) == "2024-05-01T12:00:00.123Z");
  CHECK(weft::format_log_timestamp(at_ms(1'709'251'199'999)) == "2024-02-29T23:59:59.999Z");
  CHECK(weft::format_log_timestamp(at_ms(-1)) == "1969-12-31T23:59:59.999Z");
  // Sub-millisecond time is truncated, never rounded up into the next second.
  CHECK(weft::format_log_timestamp(at_ms(1'000) - 1us) == "1970-01-01T00:00:00.999Z");
}

TEST_CASE("log levels parse from and format to their names", "[log]") {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    const auto parsed = weft::parse_log_level(weft::to_string(level));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == level);
  }
  CHECK(weft::to_string(LogLevel::kWarn) == "warn");
  for (const char* bad : {"", "INFO", "warning", "trace", " info"}) {
    INFO(bad);
    const auto parsed = weft::parse_log_level(bad);
    REQUIRE_FALSE(parsed.has_value());
    CHECK_THAT(parsed.error().message, Catch::Contains("expected debug, info, warn or error"));
  }
}
