#include "proxy/layers/routing.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "../test_documents.h"

using namespace weft::proxy;
namespace proxyconfig = weft::proxyconfig;

namespace {

const tcp::endpoint kWeb(asio::ip::make_address("10.96.0.10"), 80);
const tcp::endpoint kElsewhere(asio::ip::make_address("10.1.2.3"), 80);
constexpr std::string_view kDestinationText = "10.96.0.10:80";

struct Fixture {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};
  WorkerRoutes routes{store};

  void load(const proxyconfig::Document& document) {
    REQUIRE(store.offer(testing::text_of(document), ConfigSource::kFile) == OfferResult::kAccepted);
  }
};

Request get(std::string_view path, std::span<const Header> headers = {}) {
  Request request;
  request.method = "GET";
  request.authority = "web";
  request.path = path;
  request.headers = headers;
  return request;
}

}  // namespace

TEST_CASE("without a document, or inbound, a request goes to its destination", "[routing]") {
  Fixture f;
  Plan plan = plan_route(f.routes, {Direction::kOutbound, kWeb}, kDestinationText, get("/"));
  CHECK(plan.local.status == 0);
  CHECK(plan.backend == nullptr);
  CHECK(plan.target_label == kDestinationText);
  f.load(testing::routed_document());
  plan = plan_route(f.routes, {Direction::kInbound, kWeb}, kDestinationText, get("/"));
  CHECK(plan.backend == nullptr);
  plan = plan_route(f.routes, {Direction::kOutbound, kElsewhere}, "10.1.2.3:80", get("/"));
  CHECK(plan.backend == nullptr);
  CHECK(plan.target_label == "10.1.2.3:80");
  CHECK(plan.route_rule_label.empty());
  CHECK(plan.backend_label.empty());
}

TEST_CASE("another namespace's meshed Service goes to its destination, named", "[routing]") {
  Fixture f;
  f.load(testing::with_other_namespace());
  const tcp::endpoint api(asio::ip::make_address("10.96.5.5"), 9090);
  Plan plan = plan_route(f.routes, {Direction::kOutbound, api}, "10.96.5.5:9090", get("/"));
  CHECK(plan.local.status == 0);
  CHECK(plan.backend == nullptr);  // kube-proxy picks the pod
  CHECK(plan.target_label == "api.pay:9090");
  plan = plan_route(f.routes, {Direction::kInbound, api}, "10.96.5.5:9090", get("/"));
  CHECK(plan.target_label == "10.96.5.5:9090");
}

TEST_CASE("a matching rule chooses the backend, its balancer and its timeouts", "[routing]") {
  Fixture f;
  f.load(testing::routed_document());
  const Header canary[] = {{"X-Canary", "true"}};
  Plan plan =
      plan_route(f.routes, {Direction::kOutbound, kWeb}, kDestinationText, get("/api/x", canary));
  REQUIRE(plan.local.status == 0);
  REQUIRE(plan.backend != nullptr);
  CHECK(plan.backend->label == "web-canary:8080");
  CHECK(plan.target_label == "web:80");
  CHECK(plan.route_label == "web-route");
  // The metrics' route_rule and backend labels: a split shows by backend.
  CHECK(plan.route_rule_label == "0");
  CHECK(plan.backend_label == "web-canary:8080");
  CHECK(plan.balancer != nullptr);
  CHECK(plan.retry() == nullptr);
  CHECK(plan.budget == nullptr);
  plan = plan_route(f.routes, {Direction::kOutbound, kWeb}, kDestinationText, get("/shop"));
  REQUIRE(plan.rule != nullptr);
  CHECK(plan.rule->route_rule == 1);
  CHECK(plan.route_rule_label == "1");
  // (Rule 1 splits 9:1 between web and web-canary: the backend drawn.)
  REQUIRE(plan.backend != nullptr);
  CHECK(plan.backend_label == plan.backend->label);
  CHECK(plan.rule->request_timeout == std::chrono::milliseconds(2000));
}

TEST_CASE("no matching rule is 404; an unknown backend Service is 503", "[routing]") {
  Fixture f;
  auto document = testing::routed_document();
  document.outbound.services[0].ports[0].matches.pop_back();  // only the canary match
  f.load(document);
  CHECK(
      plan_route(f.routes, {Direction::kOutbound, kWeb}, kDestinationText, get("/")).local.status ==
      404);
  document = testing::routed_document();
  document.outbound.services.pop_back();  // web-canary is gone
  document.outbound.services[0].ports[0].rules[1].backends = {{"web", 80, 1}};
  f.load(document);
  const Header canary[] = {{"x-canary", "true"}};
  CHECK(plan_route(f.routes, {Direction::kOutbound, kWeb}, kDestinationText, get("/api", canary))
            .local.status == 503);
}

TEST_CASE("a rule with retries brings the route's budget", "[routing]") {
  Fixture f;
  auto document = testing::routed_document();
  document.outbound.services[0].ports[0].rules[1].retry = proxyconfig::Retry{};
  f.load(document);
  const Plan plan = plan_route(f.routes, {Direction::kOutbound, kWeb}, kDestinationText, get("/"));
  CHECK(plan.retry() != nullptr);
  CHECK(plan.budget != nullptr);
}
