// MeshRoute's gRPC fields -> the document (operator/grpc_route.h): a
// grpcMethod as a gRPC-only path match, grpcCodes names as numbers.

#include "operator/grpc_route.h"

#include <catch2/catch.hpp>

#include "weft/proxyconfig/route_regex.h"

using namespace weft::op;
namespace pc = weft::proxyconfig;

namespace {

GrpcMethodMatch exact(std::string service, std::string method) {
  return {pc::ValueMatchType::kExact, std::move(service), std::move(method)};
}
GrpcMethodMatch regex(std::string service, std::string method) {
  return {pc::ValueMatchType::kRegularExpression, std::move(service), std::move(method)};
}

pc::PathMatch path_of(const GrpcMethodMatch& match) {
  auto path = grpc_method_path(match);
  REQUIRE(path.has_value());
  return *path;
}

// The field and message of a refusal.
std::pair<std::string, std::string> refusal(const GrpcMethodMatch& match) {
  auto path = grpc_method_path(match);
  REQUIRE_FALSE(path.has_value());
  return {path.error().field, path.error().message};
}

bool path_matches(const GrpcMethodMatch& match, std::string_view path) {
  const pc::PathMatch converted = path_of(match);
  REQUIRE(converted.type == pc::PathMatchType::kRegularExpression);
  auto compiled = pc::RouteRegex::compile(converted.value);
  REQUIRE(compiled.has_value());
  return compiled->full_match(path);
}

}  // namespace

TEST_CASE("grpcMethod Exact: service and method, service only, method only", "[grpc_route]") {
  CHECK(path_of(exact("shop.v1.Cart", "AddItem")) ==
        pc::PathMatch{pc::PathMatchType::kExact, "/shop.v1.Cart/AddItem"});
  CHECK(path_of(exact("shop.v1.Cart", "")) ==
        pc::PathMatch{pc::PathMatchType::kPathPrefix, "/shop.v1.Cart/"});
  CHECK(path_of(exact("", "Check")) ==
        pc::PathMatch{pc::PathMatchType::kRegularExpression, "/[^/]+/Check"});
  CHECK(path_of(exact("Cart", "_private2")).value == "/Cart/_private2");
}

TEST_CASE("grpcMethod Exact: names that are not protobuf names are refused", "[grpc_route]") {
  for (const char* service : {"shop.", ".shop", "shop..Cart", "1shop", "shop/Cart", "shop-Cart",
                              "shop Cart", "shop.v1.*", "shop.(x)"}) {
    INFO(service);
    const auto [field, message] = refusal(exact(service, "Add"));
    CHECK(field == "service");
    CHECK_THAT(message, Catch::Contains("is not a protobuf service name"));
  }
  for (const char* method : {"Add.Item", "Add/Item", "1Add", "Add-Item", "Add*", "/"}) {
    INFO(method);
    const auto [field, message] = refusal(exact("shop.Cart", method));
    CHECK(field == "method");
    CHECK_THAT(message, Catch::Contains("is not a protobuf method name"));
  }
}

TEST_CASE("grpcMethod: neither service nor method is refused", "[grpc_route]") {
  for (const auto& match : {exact("", ""), regex("", "")}) {
    const auto [field, message] = refusal(match);
    CHECK(field.empty());
    CHECK_THAT(message, Catch::Contains("sets neither service nor method"));
  }
}

TEST_CASE("grpcMethod RegularExpression: each pattern matches its own segment", "[grpc_route]") {
  CHECK(path_of(regex("shop\\..*", "Get.*")).value == "/(?:shop\\..*)/(?:Get.*)");
  CHECK(path_of(regex("shop\\..*", "")).value == "/(?:shop\\..*)/[^/]+");
  CHECK(path_of(regex("", "Get.*")).value == "/[^/]+/(?:Get.*)");
  CHECK(path_matches(regex("shop\\..*", "Get.*"), "/shop.v1.Orders/GetOrder"));
  CHECK_FALSE(path_matches(regex("shop\\..*", "Get.*"), "/shopx.Orders/GetOrder"));
  CHECK_FALSE(path_matches(regex("shop\\..*", "Get.*"), "/shop.Orders/ListOrders"));
  // An alternation stays inside its group.
  CHECK(path_matches(regex("a|b", "M"), "/b/M"));
  CHECK_FALSE(path_matches(regex("a|b", "M"), "/a/N"));
}

TEST_CASE("grpcMethod RegularExpression: anchors of the whole name are dropped", "[grpc_route]") {
  CHECK(path_of(regex("^shop\\..*$", "^Get$")).value == "/(?:shop\\..*)/(?:Get)");
  CHECK(path_matches(regex("^shop\\..*$", "^Get$"), "/shop.Orders/Get"));
  // An escaped dollar is a character, not an anchor; an escaped backslash
  // before an anchor leaves the anchor an anchor.
  CHECK(path_of(regex("a\\$", "M")).value == "/(?:a\\$)/(?:M)");
  CHECK(path_of(regex("a\\\\$", "M")).value == "/(?:a\\\\)/(?:M)");
}

TEST_CASE("grpcMethod RegularExpression: what RE2 refuses is refused with its reason",
          "[grpc_route]") {
  auto [field, message] = refusal(regex("(a", "M"));
  CHECK(field == "service");
  CHECK_THAT(message, Catch::Contains("is not valid RE2"));
  std::tie(field, message) = refusal(regex("a", "(?=x)"));
  CHECK(field == "method");
  CHECK_THAT(message, Catch::Contains("is not valid RE2"));
}

TEST_CASE("retry.grpcCodes names: gRPC's codes in CamelCase, OK excluded", "[grpc_route]") {
  CHECK(grpc_code("Cancelled") == 1);
  CHECK(grpc_code("DeadlineExceeded") == 4);
  CHECK(grpc_code("ResourceExhausted") == 8);
  CHECK(grpc_code("Internal") == 13);
  CHECK(grpc_code("Unavailable") == 14);
  CHECK(grpc_code("Unauthenticated") == 16);
  for (const char* name : {"OK", "Ok", "", "UNAVAILABLE", "unavailable", "Canceled", "14"}) {
    INFO(name);
    CHECK_FALSE(grpc_code(name));
  }
  for (std::uint8_t code = 1; code <= 16; ++code) {
    INFO(int(code));
    CHECK(grpc_code(grpc_code_name(code)) == code);
  }
  CHECK(grpc_code_name(0).empty());
  CHECK(grpc_code_name(17).empty());
}
