// Metric series stay bounded whatever the traffic: targets the document names
// keep their own series, other addresses get one only under a cap (the rest
// count under "other") and lose it once unused for the expiry.

#include <catch2/catch.hpp>

#include "proxy/config/snapshot.h"
#include "proxy/metrics.h"
#include "proxy/tls/tls_metrics.h"
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

TEST_CASE("another namespace's meshed Service is a known target, by name", "[metrics]") {
  const auto snapshot = snapshot_of(testing::with_other_namespace());
  const auto api = metric_target(snapshot.get(), Direction::kOutbound, at("10.96.5.5", 80));
  CHECK(api.label == "api.pay:80");
  CHECK(api.known);
  CHECK_FALSE(metric_target(snapshot.get(), Direction::kOutbound, at("10.96.5.5", 81)).known);
  // Inbound, a cluster IP is never a destination: not looked up.
  CHECK(metric_target(snapshot.get(), Direction::kInbound, at("10.96.5.5", 80)).label ==
        "10.96.5.5:80");
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
  CHECK(metrics.response_total
            .with_labels({"inbound", "other", "", "", "", "no_identity", "no_tls_from_remote", "",
                          "", "502", "failure"})
            .value() == 997);
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

namespace {
std::string client(int n) {
  return "spiffe://cluster.local/ns/shop/sa/client-" + std::to_string(n);
}
}  // namespace

TEST_CASE("the HTTP metrics carry the TLS labels of their peer", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics);
  const std::string web = client(1);
  cache.route(Direction::kInbound, {"web:80", true}, "", inbound_peer(web))->requests.inc();
  cache.route(Direction::kInbound, {"web:80", true}, "", inbound_peer(""))->response(200).inc();
  const std::string api = "spiffe://cluster.local/ns/shop/sa/api";
  cache.route(Direction::kOutbound, {"api:80", true}, "r", outbound_peer(api, true))
      ->latency_ms.observe(3);
  cache.route(Direction::kOutbound, {"db:5432", true}, "", outbound_peer("", true))->retries.inc();
  cache.route(Direction::kOutbound, {"api:80", true}, "r", outbound_peer(api, false))
      ->response(502)
      .inc();
  const std::string text = registry.expose();
  CHECK_THAT(
      text,
      Catch::Contains(
          "request_total{direction=\"inbound\",target_service=\"web:80\","
          "route=\"\",route_rule=\"\",backend=\"\",tls=\"true\",no_tls_reason=\"\",client_id=\"" +
          web + "\",server_id=\"\"} 1"));
  CHECK_THAT(text, Catch::Contains(
                       "response_total{direction=\"inbound\",target_service=\"web:80\",route=\"\","
                       "route_rule=\"\",backend=\"\",tls=\"no_identity\",no_tls_reason=\"no_tls_"
                       "from_remote\",client_id=\"\","
                       "server_id=\"\",status_code=\"200\",classification=\"success\"} 1"));
  CHECK_THAT(
      text,
      Catch::Contains(
          "response_latency_ms_count{direction=\"outbound\",target_"
          "service=\"api:80\",route=\"r\",route_rule=\"\",backend=\"\",tls=\"true\",no_tls_reason="
          "\"\",client_id=\"\",server_id=\"" +
          api + "\"} 1"));
  CHECK_THAT(text, Catch::Contains("retry_total{direction=\"outbound\",target_service=\"db:5432\","
                                   "route=\"\",route_rule=\"\",backend=\"\",tls=\"no_identity\",no_"
                                   "tls_reason=\"not_provided_"
                                   "by_service_discovery\",client_id=\"\",server_id=\"\"} 1"));
  CHECK_THAT(text, Catch::Contains("tls=\"no_identity\",no_tls_reason=\"no_credentials\",client_"
                                   "id=\"\",server_id=\"\",status_code=\"502\""));
  // One identity per (target, direction) so far: the plaintext series are no identity.
  CHECK(cache.identities() == 2);
  // The same peer again: the same handles.
  CHECK(cache.route(Direction::kInbound, {"web:80", true}, "", inbound_peer(web)) ==
        cache.route(Direction::kInbound, {"web:80", true}, "", inbound_peer(web)));
}

TEST_CASE("peer identities past the cap of a target count as \"other\"", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.dynamic_target_expiry = 1h, .max_identities_per_target = 3});
  for (int n = 1; n <= 100; ++n) {
    const std::string id = client(n);
    cache.route(Direction::kInbound, {"web:80", true}, "", inbound_peer(id))->requests.inc();
  }
  // Another target has a cap of its own; plaintext is never folded.
  cache.route(Direction::kInbound, {"api:80", true}, "", inbound_peer(client(50)))->requests.inc();
  cache.route(Direction::kInbound, {"web:80", true}, "", inbound_peer(""))->requests.inc();
  // An identity that has series keeps them at the cap.
  cache.route(Direction::kInbound, {"web:80", true}, "", inbound_peer(client(2)))->requests.inc();
  CHECK(cache.identities() == 4);
  const std::string text = registry.expose();
  CHECK(count_of(text, "request_total{") == 6);  // 3 ids, other, api's, plaintext
  CHECK_THAT(text, Catch::Contains("client_id=\"other\",server_id=\"\"} 97"));
  CHECK_THAT(text, Catch::Contains("client_id=\"" + client(2) + "\",server_id=\"\"} 2"));
  CHECK_THAT(text, Catch::Contains("client_id=\"" + client(50) + "\",server_id=\"\"} 1"));
  CHECK_THAT(text, Catch::Contains("metrics_identity_folded_total{direction=\"inbound\"} 97"));
}

TEST_CASE("unused peer identities expire with their series, making room", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.dynamic_target_expiry = 10min, .max_identities_per_target = 2});
  const MetricTarget web{"web:80", true};
  cache.route(Direction::kInbound, web, "", inbound_peer(client(1)))->response(200).inc();
  const auto held = cache.route(Direction::kInbound, web, "", inbound_peer(client(2)));
  cache.route(Direction::kInbound, web, "", inbound_peer(""))->requests.inc();

  const auto now = MetricsCache::Clock::now();
  cache.expire(now + 5min);
  CHECK(cache.identities() == 2);
  cache.expire(now + 11min);
  CHECK(cache.identities() == 1);  // client 2's handle is held
  std::string text = registry.expose();
  CHECK_THAT(text, !Catch::Contains(client(1)));  // request, response, latency series: all gone
  CHECK_THAT(text, Catch::Contains(client(2)));
  CHECK_THAT(text, Catch::Contains("no_tls_from_remote"));  // plaintext: the target's own
  // A new identity fits again, without folding.
  cache.route(Direction::kInbound, web, "", inbound_peer(client(3)))->requests.inc();
  CHECK(cache.identities() == 2);
  CHECK(metrics.metrics_identity_folded_total.with_labels({"inbound"}).value() == 0);
  CHECK_THAT(registry.expose(), Catch::Contains(client(3)));
}

TEST_CASE("at the identity cap, a lookup makes room from expired identities first", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.dynamic_target_expiry = 0ms, .max_identities_per_target = 1});
  const MetricTarget web{"web:80", true};
  cache.route(Direction::kOutbound, web, "", outbound_peer(client(1), true));
  const auto second = cache.route(Direction::kOutbound, web, "", outbound_peer(client(2), true));
  CHECK(metrics.metrics_identity_folded_total.with_labels({"outbound"}).value() == 0);
  CHECK_THAT(registry.expose(), Catch::Contains("server_id=\"" + client(2) + "\""));
  CHECK_THAT(registry.expose(), !Catch::Contains(client(1)));
  // Held, it stays: the next one folds.
  cache.route(Direction::kOutbound, web, "", outbound_peer(client(3), true));
  CHECK(metrics.metrics_identity_folded_total.with_labels({"outbound"}).value() == 1);
}

TEST_CASE("a dynamic target that expires takes its identities along", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.max_dynamic_targets = 5, .dynamic_target_expiry = 1min});
  cache.route(Direction::kInbound, {"10.0.0.1:8080", false}, "", inbound_peer(client(1)));
  CHECK(cache.identities() == 1);
  CHECK(cache.expire(MetricsCache::Clock::now() + 2min) == 1);
  CHECK(cache.identities() == 0);
  CHECK_THAT(registry.expose(), !Catch::Contains(client(1)));
}

TEST_CASE("tcp_tls_connections_total bounds and expires its identities as the HTTP metrics do",
          "[metrics][tls]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  MetricsCache cache(metrics, {.dynamic_target_expiry = 10min, .max_identities_per_target = 3});
  TlsMetrics tls(cache);
  for (int n = 1; n <= 10; ++n) tls.count_connection(Direction::kInbound, client(n));
  tls.count_connection(Direction::kInbound, client(1));  // has its series: not folded
  tls.count_connection(Direction::kInbound, "");
  tls.count_connection(Direction::kOutbound, client(9));  // a cap of its own
  const std::string inbound_true =
      R"(tcp_tls_connections_total{direction="inbound",tls="true",no_tls_reason="",client_id=")";
  std::string text = registry.expose();
  CHECK(count_of(text, inbound_true) == 4);  // 3 identities and "other"
  CHECK_THAT(text, Catch::Contains(inbound_true + client(1) + R"(",server_id=""} 2)"));
  CHECK_THAT(text, Catch::Contains(inbound_true + R"(other",server_id=""} 7)"));
  CHECK_THAT(text, Catch::Contains(R"(tcp_tls_connections_total{direction="inbound",)"
                                   R"(tls="no_identity",no_tls_reason="no_tls_from_remote",)"
                                   R"(client_id="",server_id=""} 1)"));
  CHECK_THAT(text, Catch::Contains(R"(direction="outbound",tls="true",no_tls_reason="",)"
                                   R"(client_id="",server_id=")" +
                                   client(9) + R"("} 1)"));
  CHECK(metrics.metrics_identity_folded_total.with_labels({"inbound"}).value() == 7);
  CHECK(metrics.metrics_identity_folded_total.with_labels({"outbound"}).value() == 0);
  CHECK(cache.identities() == 4);

  // Unused for the expiry, the identities lose their series (plaintext stays)
  // and a new one has room again.
  cache.expire(MetricsCache::Clock::now() + 11min);
  CHECK(cache.identities() == 0);
  text = registry.expose();
  CHECK_THAT(text, !Catch::Contains(client(1) + "\""));
  CHECK_THAT(text, !Catch::Contains(inbound_true + "other"));
  CHECK_THAT(text, Catch::Contains("no_tls_from_remote"));
  tls.count_connection(Direction::kInbound, client(20));
  CHECK_THAT(registry.expose(),
             Catch::Contains(inbound_true + client(20) + R"(",server_id=""} 1)"));
  CHECK(metrics.metrics_identity_folded_total.with_labels({"inbound"}).value() == 7);
}
