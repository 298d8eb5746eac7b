#include "weftctl/stat/prometheus_text.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

using weft::ctl::stat::label;
using weft::ctl::stat::parse_prometheus_text;

namespace {

std::string read_testdata(const std::string& name) {
  std::ifstream in(std::string(WEFTCTL_TESTDATA) + "/stat/" + name);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string error_of(std::string_view text) {
  auto parsed = parse_prometheus_text(text);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error().message;
}

}  // namespace

TEST_CASE("a proxy's /metrics reads into samples, comments and blank lines skipped") {
  auto parsed = parse_prometheus_text(read_testdata("proxy-metrics-before.txt"));
  REQUIRE(parsed.has_value());
  const auto& samples = *parsed;
  REQUIRE_FALSE(samples.empty());
  const auto request = std::find_if(samples.begin(), samples.end(), [](const auto& sample) {
    return sample.name == "request_total" && label(sample, "direction") == "inbound";
  });
  REQUIRE(request != samples.end());
  CHECK(label(*request, "target_service") == "web:80");
  CHECK(label(*request, "route") == "");
  CHECK(label(*request, "client_id") == "spiffe://cluster.local/ns/shop/sa/load");
  CHECK(label(*request, "no_such_label") == "");
  CHECK(request->value == 100);
  const auto inf = std::find_if(samples.begin(), samples.end(), [](const auto& sample) {
    return sample.name == "response_latency_ms_bucket" && label(sample, "le") == "+Inf";
  });
  REQUIRE(inf != samples.end());
}

TEST_CASE("values: floats, exponents, +Inf, -Inf and NaN; a timestamp may follow") {
  auto parsed = parse_prometheus_text(
      "a 1.5\n"
      "b 2e3 1700000000000\n"
      "c +Inf\n"
      "d -Inf\n"
      "e NaN\n"
      "f{x=\"1\"}\t-0.25\n"
      "  # an indented comment\n"
      "g{} 7\r\n");
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->size() == 7);
  CHECK((*parsed)[0].value == 1.5);
  CHECK((*parsed)[1].value == 2000);
  CHECK(std::isinf((*parsed)[2].value));
  CHECK((*parsed)[2].value > 0);
  CHECK((*parsed)[3].value < 0);
  CHECK(std::isnan((*parsed)[4].value));
  CHECK((*parsed)[5].value == -0.25);
  CHECK((*parsed)[6].labels.empty());
  CHECK((*parsed)[6].value == 7);
}

TEST_CASE("label values are unescaped; a trailing comma and spaces are allowed") {
  auto parsed = parse_prometheus_text(R"(m{path="a\"b",dir="c:\\d",text="one\ntwo", } 1)"
                                      "\n");
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->size() == 1);
  CHECK(label(parsed->front(), "path") == "a\"b");
  CHECK(label(parsed->front(), "dir") == "c:\\d");
  CHECK(label(parsed->front(), "text") == "one\ntwo");
}

TEST_CASE("bad lines are refused with their number and what is wrong") {
  CHECK(error_of("ok 1\nrequest_total\n") == "line 2: the sample has no value");
  CHECK(error_of("request_total{a=b} 1") == "line 1: the value of label a is not quoted");
  CHECK(error_of("m{a=\"x} 1") == "line 1: a label value has no closing quote");
  CHECK(error_of("m{a=\"\\t\"} 1") == "line 1: unknown escape \\t in a label value");
  CHECK(error_of("m{a=\"1\",a=\"2\"} 1") == "line 1: label a given twice");
  CHECK(error_of("m{a=\"1\" b=\"2\"} 1") == "line 1: expected ',' or '}' after a label");
  CHECK(error_of("m{a} 1") == "line 1: label a has no '='");
  CHECK(error_of("m{1a=\"x\"} 1") == "line 1: expected a label name or '}'");
  CHECK(error_of("m 12x") == "line 1: \"12x\" is not a number");
  CHECK(error_of("m inf") == "line 1: \"inf\" is not a number");
  CHECK(error_of("m 0x10") == "line 1: \"0x10\" is not a number");
  CHECK(error_of("m 1 12.5") == "line 1: \"12.5\" is not a timestamp in milliseconds");
  CHECK(error_of("m 1 2 3") == "line 1: unexpected text after the timestamp");
  CHECK(error_of("9m 1") == "line 1: a sample must start with a metric name");
  CHECK(error_of("m-x 1") == "line 1: unexpected \"-\" after the metric name");
  CHECK(error_of("\n\n# HELP x y\n<html>") == "line 4: a sample must start with a metric name");
}

TEST_CASE("empty text has no samples") {
  auto parsed = parse_prometheus_text("");
  REQUIRE(parsed.has_value());
  CHECK(parsed->empty());
}
