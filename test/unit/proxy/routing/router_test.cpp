#include "proxy/routing/router.h"

#include <catch2/catch.hpp>

#include "proxy/http1/head_parser.h"
#include "test/unit/proxy/test_documents.h"

using namespace weft::proxy;

namespace {

std::shared_ptr<const Snapshot> build(const weft::proxyconfig::Document& document) {
  const std::string text = testing::text_of(document);
  auto parsed = weft::proxyconfig::parse(text);
  REQUIRE(parsed.has_value());
  auto snapshot = Snapshot::build(std::move(parsed.value()), text);
  REQUIRE(snapshot.has_value());
  return snapshot.value();
}

// Keeps the bytes the parsed head points into.
struct Parsed {
  explicit Parsed(std::string text) : bytes(std::move(text)) {
    http1::HeadParser parser;
    REQUIRE(parser.parse_request(bytes, head).status == http1::ParseStatus::kComplete);
  }
  std::string bytes;
  http1::RequestHead head;
  weft::proxy::Request request() const { return http1::to_request(head); }
};

const tcp::endpoint kWeb(asio::ip::make_address("10.96.0.10"), 80);

// ---- gRPC matches (RouteMatch::grpc) ----

// A request as any codec hands it to the layers (a gRPC call comes over
// HTTP/2; the router sees only the neutral Request).
struct Call {
  Call(std::string path_text, std::string content_type)
      : path(std::move(path_text)), type(std::move(content_type)) {
    if (!type.empty()) headers.push_back({"content-type", type});
    headers.push_back({"te", "trailers"});
  }
  Request request() const {
    Request out;
    out.method = "POST";
    out.authority = "cart:9090";
    out.path = path;
    out.headers = headers;
    return out;
  }
  std::string path;
  std::string type;
  std::vector<Header> headers;
};

weft::proxyconfig::RouteMatch grpc_match(std::size_t rule, weft::proxyconfig::PathMatchType type,
                                         std::string value) {
  weft::proxyconfig::RouteMatch match;
  match.rule = rule;
  match.path = {type, std::move(value)};
  match.grpc = true;
  return match;
}

// routed_document()'s web:80 with five rules and, in the operator's order,
// gRPC matches (method, service, method only, regex) before a catch-all
// HTTP prefix.
std::shared_ptr<const Snapshot> grpc_snapshot() {
  using weft::proxyconfig::PathMatchType;
  auto document = testing::routed_document();
  auto& port = document.outbound.services[0].ports[0];
  port.rules.resize(5, port.rules[1]);
  for (std::uint32_t i = 0; i < port.rules.size(); ++i) port.rules[i].route_rule = i;
  weft::proxyconfig::RouteMatch http_catch_all;
  http_catch_all.rule = 4;
  port.matches = {grpc_match(0, PathMatchType::kExact, "/shop.Cart/Add"),
                  grpc_match(1, PathMatchType::kPathPrefix, "/shop.Cart/"),
                  grpc_match(2, PathMatchType::kRegularExpression, "/[^/]+/Check"),
                  grpc_match(3, PathMatchType::kRegularExpression, "/(?:shop\\..*)/(?:Get.*)"),
                  http_catch_all};
  return build(document);
}

std::uint32_t rule_of(const ServiceTarget& target, const Call& call) {
  const RouteSelection selection = select_route(target, call.request());
  REQUIRE(selection.rule != nullptr);
  return selection.rule->route_rule;
}

}  // namespace

TEST_CASE("a destination resolves to its Service port", "[router]") {
  const auto snapshot = build(testing::routed_document());
  const ServiceTarget* web = snapshot->find_by_destination(kWeb);
  REQUIRE(web != nullptr);
  CHECK(web->label == "web:80");
  CHECK(web->endpoints.size() == 2);
  CHECK(snapshot->find_by_destination(tcp::endpoint(kWeb.address(), 81)) == nullptr);
  CHECK(snapshot->find_by_name("web-canary", 8080) != nullptr);
}

TEST_CASE("the first match in precedence order chooses the rule", "[router]") {
  const auto snapshot = build(testing::routed_document());
  const ServiceTarget& web = *snapshot->find_by_destination(kWeb);
  Parsed canary("GET /api/cart HTTP/1.1\r\nHost: web\r\nX-Canary: true\r\n\r\n");
  CHECK(select_route(web, canary.request()).rule->route_rule == 0);
  Parsed other_path("GET /apix HTTP/1.1\r\nHost: web\r\nX-Canary: true\r\n\r\n");
  CHECK(select_route(web, other_path.request()).rule->route_rule == 1);
  Parsed no_header("GET /api/cart HTTP/1.1\r\nHost: web\r\n\r\n");
  CHECK(select_route(web, no_header.request()).rule->route_rule == 1);
}

TEST_CASE("routes with no matching rule give 404; no routes give the endpoints", "[router]") {
  auto document = testing::routed_document();
  auto& port = document.outbound.services[0].ports[0];
  port.matches.pop_back();  // only the canary match remains
  port.rules[1].backends = {{"web", 80, 1}};
  const auto snapshot = build(document);
  Parsed request("GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  CHECK(select_route(*snapshot->find_by_destination(kWeb), request.request()).no_match);
  const ServiceTarget* canary = snapshot->find_by_name("web-canary", 8080);
  const RouteSelection plain = select_route(*canary, request.request());
  CHECK(plain.rule == nullptr);
  CHECK_FALSE(plain.no_match);
}

TEST_CASE("method, regex path, header regex and query matches", "[router]") {
  using namespace weft::proxyconfig;
  auto document = testing::routed_document();
  auto& port = document.outbound.services[0].ports[0];
  RouteMatch match;
  match.rule = 0;
  match.method = "POST";
  match.path = {PathMatchType::kRegularExpression, "/items/[0-9]+"};
  match.headers = {{ValueMatchType::kRegularExpression, "user-agent", "curl/.*"}};
  match.query_params = {{ValueMatchType::kExact, "debug", "1"}};
  port.matches.insert(port.matches.begin(), match);
  const auto snapshot = build(document);
  const ServiceTarget& web = *snapshot->find_by_destination(kWeb);
  Parsed hit("POST /items/42?x=2&debug=1 HTTP/1.1\r\nHost: w\r\nUser-Agent: curl/8\r\n\r\n");
  CHECK(select_route(web, hit.request()).rule->route_rule == 0);
  Parsed wrong_method("GET /items/42?debug=1 HTTP/1.1\r\nHost: w\r\nUser-Agent: curl/8\r\n\r\n");
  CHECK(select_route(web, wrong_method.request()).rule->route_rule == 1);
  Parsed wrong_path("POST /items/4x?debug=1 HTTP/1.1\r\nHost: w\r\nUser-Agent: curl/8\r\n\r\n");
  CHECK(select_route(web, wrong_path.request()).rule->route_rule == 1);
  Parsed no_query("POST /items/42 HTTP/1.1\r\nHost: w\r\nUser-Agent: curl/8\r\n\r\n");
  CHECK(select_route(web, no_query.request()).rule->route_rule == 1);
  Parsed wrong_agent("POST /items/42?debug=1 HTTP/1.1\r\nHost: w\r\nUser-Agent: wget\r\n\r\n");
  CHECK(select_route(web, wrong_agent.request()).rule->route_rule == 1);
}

TEST_CASE("a regular expression that does not compile makes the snapshot fail", "[router]") {
  auto document = testing::routed_document();
  document.outbound.services[0].ports[0].matches[0].path = {
      weft::proxyconfig::PathMatchType::kRegularExpression, "/(unclosed"};
  const std::string text = testing::text_of(document);
  auto parsed = weft::proxyconfig::parse(text);
  REQUIRE(parsed.has_value());
  auto snapshot = Snapshot::build(std::move(parsed.value()), text);
  REQUIRE_FALSE(snapshot.has_value());
  CHECK_THAT(snapshot.error().message, Catch::Contains("matches[0].path"));
}

TEST_CASE("path prefixes match whole segments", "[router]") {
  CHECK(path_prefix_matches("/", "/anything"));
  CHECK(path_prefix_matches("/api", "/api"));
  CHECK(path_prefix_matches("/api", "/api/v1"));
  CHECK(path_prefix_matches("/api/", "/api/v1"));
  CHECK(path_prefix_matches("/api/", "/api"));
  CHECK_FALSE(path_prefix_matches("/api", "/apix"));
  CHECK_FALSE(path_prefix_matches("/api", "/ap"));
}

TEST_CASE("query parameters: first occurrence, exact name", "[router]") {
  CHECK(query_param("a=1&b=2", "b") == "2");
  CHECK(query_param("a=1&a=2", "a") == "1");
  CHECK(query_param("flag&b=2", "flag") == "");
  CHECK_FALSE(query_param("A=1", "a").has_value());
  CHECK_FALSE(query_param("", "a").has_value());
}

TEST_CASE("weighted backends follow their weights", "[router]") {
  weft::proxyconfig::Rule rule;
  rule.backends = {{"a", 80, 9}, {"b", 80, 1}, {"c", 80, 0}};
  std::map<std::string, int> picks;
  for (std::uint64_t r = 0; r < 1000; ++r) picks[pick_backend(rule, r)->service]++;
  CHECK(picks["a"] == 900);
  CHECK(picks["b"] == 100);
  CHECK(picks.count("c") == 0);
  rule.backends = {{"a", 80, 0}};
  CHECK(pick_backend(rule, 7) == nullptr);
}

// gRPC matches: the path the operator wrote for a grpcMethod, held only by
// gRPC calls, in the operator's order.
TEST_CASE("gRPC matches: method, then service, then method only, then regex", "[router][grpc]") {
  const auto snapshot = grpc_snapshot();
  const ServiceTarget& web = *snapshot->find_by_name("web", 80);
  CHECK(rule_of(web, {"/shop.Cart/Add", "application/grpc"}) == 0);
  CHECK(rule_of(web, {"/shop.Cart/Remove", "application/grpc"}) == 1);
  CHECK(rule_of(web, {"/shop.Cart/Check", "application/grpc"}) == 1);  // service before method
  CHECK(rule_of(web, {"/grpc.health.v1.Health/Check", "application/grpc"}) == 2);
  CHECK(rule_of(web, {"/shop.Orders/GetOrder", "application/grpc+proto"}) == 3);
  CHECK(rule_of(web, {"/other.Orders/GetOrder", "application/grpc"}) == 4);  // HTTP catch-all
}

TEST_CASE("gRPC matches hold only for gRPC content types", "[router][grpc]") {
  const auto snapshot = grpc_snapshot();
  const ServiceTarget& web = *snapshot->find_by_name("web", 80);
  CHECK(rule_of(web, {"/shop.Cart/Add", "Application/GRPC;charset=utf-8"}) == 0);
  CHECK(rule_of(web, {"/shop.Cart/Add", "application/json"}) == 4);
  CHECK(rule_of(web, {"/shop.Cart/Add", "application/grpc-web"}) == 4);
  CHECK(rule_of(web, {"/shop.Cart/Add", ""}) == 4);  // no content-type at all
}

TEST_CASE("gRPC matches hold only for a /<service>/<method> path", "[router][grpc]") {
  const auto snapshot = grpc_snapshot();
  const ServiceTarget& web = *snapshot->find_by_name("web", 80);
  // A prefix or a regex would take these; a gRPC call has exactly two segments.
  CHECK(rule_of(web, {"/shop.Cart/Add/extra", "application/grpc"}) == 4);
  CHECK(rule_of(web, {"/shop.Cart/", "application/grpc"}) == 4);
  CHECK(rule_of(web, {"/shop.Cart", "application/grpc"}) == 4);
  CHECK(rule_of(web, {"/a/b/Check", "application/grpc"}) == 4);
  CHECK(rule_of(web, {"/shop.x/y/Get", "application/grpc"}) == 4);
}

TEST_CASE("a gRPC call: the path's shape and the first content-type", "[router][grpc]") {
  CHECK(is_grpc_call(Call("/a.B/C", "application/grpc").request()));
  CHECK(is_grpc_call(Call("/B/C", "application/grpc+proto").request()));
  for (const char* path : {"", "/", "//", "/a", "/a/", "//C", "/a//", "/a/b/c", "a/b", "/a/b/"}) {
    INFO(path);
    CHECK_FALSE(is_grpc_call(Call(path, "application/grpc").request()));
  }
  Call twice("/a.B/C", "text/plain");
  twice.headers.push_back({"Content-Type", "application/grpc"});
  CHECK_FALSE(is_grpc_call(twice.request()));  // the first one decides
}
