// parse_pod_labels (proxy/authz/pod_labels.h): the downward API's labels file.

#include "proxy/authz/pod_labels.h"

#include <catch2/catch.hpp>
#include <string>

using weft::proxy::authz::parse_pod_labels;

TEST_CASE("pod labels: plain lines, sorted map, blank lines skipped", "[authz][pod_labels]") {
  const auto labels =
      parse_pod_labels("app=\"web\"\n\napp.kubernetes.io/name=\"shop\"\ntier=\"\"\n");
  REQUIRE(labels);
  REQUIRE(labels->size() == 3);
  CHECK(labels->at("app") == "web");
  CHECK(labels->at("app.kubernetes.io/name") == "shop");
  CHECK(labels->at("tier").empty());
}

TEST_CASE("pod labels: Go %q escapes are undone", "[authz][pod_labels]") {
  const auto labels = parse_pod_labels(
      "a=\"x\\\"y\"\nb=\"back\\\\slash\"\nc=\"l1\\nl2\\tt\"\nd=\"\\x41\\u00e9\\U0001F600\"\n");
  REQUIRE(labels);
  CHECK(labels->at("a") == "x\"y");
  CHECK(labels->at("b") == "back\\slash");
  CHECK(labels->at("c") == "l1\nl2\tt");
  CHECK(labels->at("d") == "A\xC3\xA9\xF0\x9F\x98\x80");
}

TEST_CASE("pod labels: a value may contain `=`", "[authz][pod_labels]") {
  const auto labels = parse_pod_labels("k=\"a=b\"");
  REQUIRE(labels);
  CHECK(labels->at("k") == "a=b");
}

TEST_CASE("pod labels: bad lines are refused with their line number", "[authz][pod_labels]") {
  const auto [text, line] = GENERATE(table<const char*, const char*>({
      {"app=\"web\"\nnoequals\n", "line 2:"},
      {"app=web\n", "line 1:"},  // unquoted
      {"a=\"x\"\n\nb=\"unterminated\n", "line 3:"},
      {"a=\"bad \\q escape\"", "line 1:"},
      {"a=\"short \\x4\"", "line 1:"},
      {"a=\"surrogate \\ud800\"", "line 1:"},
      {"a=\"early\" end\"", "line 1:"},
      {"-bad=\"x\"", "line 1:"},          // key must start alphanumeric
      {"Bad.Prefix/x=\"x\"", "line 1:"},  // prefix is a lowercase DNS subdomain
      {"=\"x\"", "line 1:"},
      {"a=\"1\"\na=\"2\"", "line 2:"},  // duplicate
  }));
  const auto labels = parse_pod_labels(text);
  REQUIRE_FALSE(labels);
  CHECK_THAT(labels.error().message, Catch::Contains(line));
}

TEST_CASE("pod labels: at most 16384 labels and 2 MiB", "[authz][pod_labels]") {
  std::string text;
  for (int i = 0; i < 16384; ++i) text += "k" + std::to_string(i) + "=\"v\"\n";
  CHECK(parse_pod_labels(text));
  const auto over = parse_pod_labels(text + "k16384=\"v\"\n");
  REQUIRE_FALSE(over);
  CHECK_THAT(over.error().message, Catch::Contains("line 16385"));

  const std::string big = "k=\"" + std::string(2 * 1024 * 1024, 'x') + "\"";
  const auto too_big = parse_pod_labels(big);
  REQUIRE_FALSE(too_big);
  CHECK_THAT(too_big.error().message, Catch::Contains("bytes"));
}
