// gRPC matches (RouteMatch::grpc) in the router: the path the operator wrote
// for a grpcMethod, held only by gRPC calls, in the operator's order.

#include <catch2/catch.hpp>
#include <vector>

#include "proxy/routing/router.h"
#include "test/unit/proxy/test_documents.h"

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;

namespace {

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

proxyconfig::RouteMatch grpc_match(std::size_t rule, proxyconfig::PathMatchType type,
                                   std::string value) {
  proxyconfig::RouteMatch match;
  match.rule = rule;
  match.path = {type, std::move(value)};
  match.grpc = true;
  return match;
}

// routed_document()'s web:80 with five rules and, in the operator's order,
// gRPC matches (method, service, method only, regex) before a catch-all
// HTTP prefix.
std::shared_ptr<const Snapshot> grpc_snapshot() {
  using proxyconfig::PathMatchType;
  auto document = testing::routed_document();
  auto& port = document.outbound.services[0].ports[0];
  port.rules.resize(5, port.rules[1]);
  for (std::uint32_t i = 0; i < port.rules.size(); ++i) port.rules[i].route_rule = i;
  proxyconfig::RouteMatch http_catch_all;
  http_catch_all.rule = 4;
  port.matches = {grpc_match(0, PathMatchType::kExact, "/shop.Cart/Add"),
                  grpc_match(1, PathMatchType::kPathPrefix, "/shop.Cart/"),
                  grpc_match(2, PathMatchType::kRegularExpression, "/[^/]+/Check"),
                  grpc_match(3, PathMatchType::kRegularExpression, "/(?:shop\\..*)/(?:Get.*)"),
                  http_catch_all};
  const std::string text = testing::text_of(document);
  auto parsed = proxyconfig::parse(text);
  REQUIRE(parsed.has_value());
  auto snapshot = Snapshot::build(std::move(parsed.value()), text);
  REQUIRE(snapshot.has_value());
  return snapshot.value();
}

std::uint32_t rule_of(const ServiceTarget& target, const Call& call) {
  const RouteSelection selection = select_route(target, call.request());
  REQUIRE(selection.rule != nullptr);
  return selection.rule->route_rule;
}

}  // namespace

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
