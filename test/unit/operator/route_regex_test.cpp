// RouteRegex (lib/weft/proxyconfig/route_regex.h): the RE2 compile the
// operator validates with and the proxy matches with.

#include "weft/proxyconfig/route_regex.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

using weft::proxyconfig::RouteRegex;

TEST_CASE("route regex: a pathological pattern matches in linear time", "[route_regex]") {
  // (a+)+$ over many 'a' then a character that fails the match: exponential
  // for a backtracking engine, linear for RE2.
  const auto regex = RouteRegex::compile("(a+)+$");
  REQUIRE(regex.has_value());
  const std::string text = std::string(4096, 'a') + "!";
  const auto start = std::chrono::steady_clock::now();
  const bool matched = regex->full_match(text);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(matched);
  CHECK(regex->full_match(std::string(4096, 'a')));
  CHECK(elapsed < std::chrono::milliseconds(50));  // microseconds in practice
}

TEST_CASE("route regex: the whole text must match", "[route_regex]") {
  const auto regex = RouteRegex::compile("/items/[0-9]+");
  REQUIRE(regex.has_value());
  CHECK(regex->full_match("/items/42"));
  CHECK_FALSE(regex->full_match("/items/42/x"));
  CHECK_FALSE(regex->full_match("/v1/items/42"));
}

TEST_CASE("route regex: patterns RE2 refuses are refused with RE2's reason", "[route_regex]") {
  for (const std::string pattern : {"(a)\\1", "/api(?=x)", "/(unclosed"}) {
    const auto regex = RouteRegex::compile(pattern);
    REQUIRE_FALSE(regex.has_value());
    CHECK_THAT(regex.error().message,
               Catch::Contains("'" + pattern + "'") && Catch::Contains("not valid RE2"));
  }
}
