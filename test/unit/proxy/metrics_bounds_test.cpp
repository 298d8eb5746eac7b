// Metric series stay bounded whatever the traffic: targets the document names
// keep their own series, other addresses get one only under a cap (the rest
// count under "other") and lose it once unused for the expiry.

#include <catch2/catch.hpp>

#include "proxy/config/snapshot.h"
#include "proxy/metrics.h"
#include "test_documents.h"
#include "weft/proxyconfig/parse.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

tcp::endpoint at(const char* address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

std::shared_ptr<const Snapshot> snapshot_of(const weft::proxyconfig::Document& document) {
  const std::string text = testing::text_of(document);
  auto parsed = weft::proxyconfig::parse(text);
  REQUIRE(parsed.has_value());
  auto snapshot = Snapshot::build(std::move(parsed.value()), text);
  REQUIRE(snapshot.has_value());
  return snapshot.value();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("the document names Services, their endpoints and policy ports; opaque ports are dynamic",
          "[metrics]") {
  auto document = testing::routed_document();
  weft::proxyconfig::InboundPolicy policy;
  policy.name = "admin-only";
  policy.ports = {9443};
  document.inbound.policies = {policy};
  const auto snapshot = snapshot_of(document);

  const auto outbound = [&](const char* address, std::uint16_t port) {
    return metric_target(snapshot.get(), Direction::kOutbound, at(address, port));
  };
  const auto inbound = [&](const char* address, std::uint16_t port) {
    return metric_target(snapshot.get(), Direction::kInbound, at(address, port));
  };
  CHECK(outbound("10.96.0.10", 80).label == "web:80");
  CHECK(outbound("10.96.0.10", 80).known);
  CHECK(outbound("10.96.0.10", 81).label == "10.96.0.10:81");
  CHECK_FALSE(outbound("10.96.0.10", 81).known);
  // An opaque port (3306 here) is known only as a dynamic target: a range
  // of them must not give every port its own series.
  CHECK_FALSE(outbound("192.0.2.1", 3306).known);
  // Inbound: the pod's endpoint of a Service port is labelled by that Service.
  CHECK(inbound("10.0.0.1", 8080).label == "web:80");
  CHECK(inbound("10.0.1.1", 9090).label == "web-canary:8080");
  CHECK(inbound("10.0.0.1", 9443).label == "10.0.0.1:9443");
  CHECK(inbound("10.0.0.1", 9443).known);  // a port a policy names
  CHECK_FALSE(inbound("10.0.0.1", 3306).known);
  CHECK_FALSE(inbound("10.0.0.1", 8081).known);
  CHECK(inbound("::1", 8081).label == "[::1]:8081");
  // No document yet: nothing is known.
  CHECK_FALSE(metric_target(nullptr, Direction::kInbound, at("10.0.0.1", 8080)).known);
}

TEST_CASE("dynamic targets past the cap count under one \"other\" series", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.max_dynamic_targets = 3, .dynamic_target_expiry = 1h});
  for (int port = 1; port <= 1000; ++port) {
    const MetricTarget target{"10.0.0.1:" + std::to_string(port), false};
    cache.tcp(Direction::kInbound, target)->open_total.inc();
    cache.route(Direction::kInbound, target, "")->response(502).inc();
  }
  // Known targets are never capped.
  cache.tcp(Direction::kInbound, {"web:80", true})->open_total.inc();
  CHECK(cache.dynamic_targets() == 3);
  const std::string text = registry.expose();
  CHECK(count_of(text, "tcp_open_total{") == 5);  // 3 dynamic, "other", web:80
  CHECK_THAT(text,
             Catch::Contains("tcp_open_total{direction=\"inbound\",target_service=\"other\"} 997"));
  CHECK_THAT(text, Catch::Contains("request_total{direction=\"inbound\",target_service=\"other\""));
  CHECK_THAT(text,
             Catch::Contains("tcp_open_total{direction=\"inbound\",target_service=\"web:80\"} 1"));
  // Each of the 997 lookups of each kind folded.
  CHECK_THAT(text, Catch::Contains("metrics_target_folded_total{direction=\"inbound\"} 1994"));
  CHECK_THAT(text, Catch::Contains("metrics_dynamic_targets 3"));
  CHECK(metrics.response_total.with_labels({"inbound", "other", "", "502", "failure"}).value() ==
        997);
}

TEST_CASE("unused dynamic targets expire with their series; held ones stay", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.max_dynamic_targets = 2, .dynamic_target_expiry = 10min});
  const MetricTarget gone{"192.0.2.1:80", false};
  const MetricTarget held_target{"192.0.2.2:80", false};
  cache.route(Direction::kOutbound, gone, "")->response(200).inc();
  cache.tcp(Direction::kOutbound, gone)->open_total.inc();
  const std::shared_ptr<TcpMetrics> held = cache.tcp(Direction::kOutbound, held_target);
  cache.tcp(Direction::kOutbound, {"web:80", true});  // known: never expires

  const auto now = MetricsCache::Clock::now();
  CHECK(cache.expire(now + 5min) == 0);
  CHECK(cache.expire(now + 11min) == 1);
  CHECK(cache.dynamic_targets() == 1);
  const std::string text = registry.expose();
  CHECK_THAT(text, !Catch::Contains("192.0.2.1:80"));  // every series of it went
  CHECK_THAT(text, Catch::Contains("tcp_open_total{direction=\"outbound\",target_service=\"192.0."
                                   "2.2:80\"}"));
  CHECK_THAT(text, Catch::Contains("web:80"));
  CHECK_THAT(text, Catch::Contains("metrics_target_expired_total{direction=\"outbound\"} 1"));
  // A new dynamic target fits again, without folding.
  cache.tcp(Direction::kOutbound, {"192.0.2.3:80", false});
  CHECK(cache.dynamic_targets() == 2);
  CHECK(metrics.metrics_target_folded_total.with_labels({"outbound"}).value() == 0);
}

TEST_CASE("at the cap, a lookup makes room from expired targets first", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.max_dynamic_targets = 1, .dynamic_target_expiry = 0ms});
  cache.tcp(Direction::kInbound, {"10.0.0.1:1", false});
  // Unused and past an expiry of 0: replaced rather than folded.
  const auto second = cache.tcp(Direction::kInbound, {"10.0.0.1:2", false});
  CHECK(metrics.metrics_target_folded_total.with_labels({"inbound"}).value() == 0);
  CHECK_THAT(registry.expose(), Catch::Contains("target_service=\"10.0.0.1:2\""));
  CHECK_THAT(registry.expose(), !Catch::Contains("target_service=\"10.0.0.1:1\""));
}
