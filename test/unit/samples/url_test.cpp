#include "samples/common/url.h"

#include <catch2/catch.hpp>

using weft::samples::parse_http_url;

TEST_CASE("url: host, port and target", "[url]") {
  auto url = parse_http_url("http://backend-v1:8080/api/items?x=1");
  REQUIRE(url);
  CHECK(url->host == "backend-v1");
  CHECK(url->port == 8080);
  CHECK(url->target == "/api/items?x=1");
  CHECK(url->host_header == "backend-v1:8080");
  CHECK(url->text == "http://backend-v1:8080/api/items?x=1");
}

TEST_CASE("url: defaults to port 80 and path /", "[url]") {
  auto url = parse_http_url("http://api");
  REQUIRE(url);
  CHECK(url->port == 80);
  CHECK(url->target == "/");
  auto query_only = parse_http_url("http://api?q=1");
  REQUIRE(query_only);
  CHECK(query_only->target == "/?q=1");
}

TEST_CASE("url: bracketed IPv6", "[url]") {
  auto url = parse_http_url("http://[::1]:9000/x");
  REQUIRE(url);
  CHECK(url->host == "::1");
  CHECK(url->port == 9000);
  CHECK(url->host_header == "[::1]:9000");
}

TEST_CASE("url: bad input names the problem", "[url]") {
  CHECK(parse_http_url("https://api/").error().message.find("only http://") != std::string::npos);
  CHECK(parse_http_url("api:8080").error().message.find("only http://") != std::string::npos);
  CHECK(parse_http_url("http:///x").error().message.find("empty host") != std::string::npos);
  CHECK(parse_http_url("http://api:0/").error().message.find("port") != std::string::npos);
  CHECK(parse_http_url("http://api:70000/").error().message.find("port") != std::string::npos);
  CHECK(parse_http_url("http://api:/").error().message.find("empty port") != std::string::npos);
  CHECK(parse_http_url("http://api:8x/").error().message.find("port") != std::string::npos);
  CHECK(parse_http_url("http://[::1/").error().message.find("unclosed") != std::string::npos);
  CHECK(parse_http_url("http://u:p@api/").error().message.find("user") != std::string::npos);
}
