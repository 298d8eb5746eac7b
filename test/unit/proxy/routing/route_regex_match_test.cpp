// Route regular expressions in the proxy: RE2, so a crafted path or header
// cannot make the event loop backtrack, and long values still match.

#include <catch2/catch.hpp>
#include <chrono>

#include "proxy/http1/head_parser.h"
#include "proxy/routing/router.h"
#include "test/unit/proxy/test_documents.h"

using namespace weft::proxy;
namespace pc = weft::proxyconfig;

namespace {

const tcp::endpoint kWeb(asio::ip::make_address("10.96.0.10"), 80);

weft::Result<std::shared_ptr<const Snapshot>> build(const pc::Document& document) {
  const std::string text = testing::text_of(document);
  auto parsed = pc::parse(text);
  REQUIRE(parsed.has_value());
  return Snapshot::build(std::move(parsed.value()), text);
}

// The rule a request goes to, on a document whose first match is `match`
// (rule 0) before the routed document's own (rule 1).
int rule_of(const pc::RouteMatch& match, const std::string& request_bytes) {
  auto document = testing::routed_document();
  auto& port = document.outbound.services[0].ports[0];
  port.matches.insert(port.matches.begin(), match);
  const auto snapshot = build(document);
  REQUIRE(snapshot.has_value());
  http1::HeadParser parser;
  http1::RequestHead head;
  REQUIRE(parser.parse_request(request_bytes, head).status == http1::ParseStatus::kComplete);
  const RouteSelection selection =
      select_route(*(*snapshot)->find_by_destination(kWeb), http1::to_request(head));
  REQUIRE(selection.rule != nullptr);
  return static_cast<int>(selection.rule->route_rule);
}

}  // namespace

TEST_CASE("a pathological path regex is matched in linear time", "[router][regex]") {
  pc::RouteMatch match;
  match.path = {pc::PathMatchType::kRegularExpression, "/(a+)+$"};
  const std::string path = "/" + std::string(4000, 'a');
  const auto start = std::chrono::steady_clock::now();
  CHECK(rule_of(match, "GET " + path + "! HTTP/1.1\r\nHost: w\r\n\r\n") == 1);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(rule_of(match, "GET " + path + " HTTP/1.1\r\nHost: w\r\n\r\n") == 0);
  // Backtracking would take longer than the universe's age on 4,000 'a's;
  // linear time takes microseconds. The bound is for sanitizers and busy machines.
  CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("a header regex matches values longer than 4 KiB", "[router][regex]") {
  pc::RouteMatch match;
  match.headers = {{pc::ValueMatchType::kRegularExpression, "x-token", "t.*z"}};
  const std::string value = "t" + std::string(8000, 'y') + "z";
  CHECK(rule_of(match, "GET / HTTP/1.1\r\nHost: w\r\nX-Token: " + value + "\r\n\r\n") == 0);
}

TEST_CASE("a regular expression RE2 refuses makes the snapshot fail", "[router][regex]") {
  auto document = testing::routed_document();
  document.outbound.services[0].ports[0].matches[0].path = {pc::PathMatchType::kRegularExpression,
                                                            "/(a)\\1"};
  const auto snapshot = build(document);
  REQUIRE_FALSE(snapshot.has_value());
  CHECK_THAT(snapshot.error().message,
             Catch::Contains("matches[0].path") && Catch::Contains("not valid RE2"));
}
