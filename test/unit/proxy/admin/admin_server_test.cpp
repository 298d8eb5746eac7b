#include "proxy/admin/admin_server.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "../test_documents.h"

using namespace weft::proxy;

namespace {

struct Fixture {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};
  std::atomic<bool> ready{false};
  AdminState state{store, registry, ready, metrics};
};

}  // namespace

TEST_CASE("/live and /ready", "[admin]") {
  Fixture f;
  CHECK_THAT(admin_response(f.state, "GET", "/live", false, AdminCaller::kLoopback),
             Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(admin_response(f.state, "GET", "/ready", false, AdminCaller::kLoopback),
             Catch::StartsWith("HTTP/1.1 503"));
  f.ready = true;
  CHECK_THAT(admin_response(f.state, "GET", "/ready", false, AdminCaller::kLoopback),
             Catch::StartsWith("HTTP/1.1 200"));
}

TEST_CASE("/config shows the document in use, read-only", "[admin]") {
  Fixture f;
  CHECK_THAT(admin_response(f.state, "GET", "/config", false, AdminCaller::kLoopback),
             Catch::StartsWith("HTTP/1.1 404"));
  const std::string text = testing::text_of(testing::routed_document());
  REQUIRE(f.store.offer(text, ConfigSource::kFile) == OfferResult::kAccepted);
  const std::string response =
      admin_response(f.state, "GET", "/config", false, AdminCaller::kLoopback);
  CHECK_THAT(response, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(response, Catch::EndsWith(text));
  CHECK_THAT(response, Catch::Contains("X-Weft-Config-Hash: sha256:"));
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    CHECK_THAT(admin_response(f.state, method, "/config", false, AdminCaller::kLoopback),
               Catch::StartsWith("HTTP/1.1 405"));
  }
  CHECK_THAT(admin_response(f.state, "GET", "/shutdown", false, AdminCaller::kLoopback),
             Catch::StartsWith("HTTP/1.1 404"));
}

TEST_CASE("/metrics exposes the declared families", "[admin]") {
  Fixture f;
  MetricsCache cache(f.metrics);
  const MetricTarget web{"web:80", true};
  cache.route(Direction::kOutbound, web, "web-route")->response(503).inc();
  cache.route(Direction::kOutbound, web, "web-route")->latency_ms.observe(12);
  cache.tcp(Direction::kInbound, {"10.0.0.1:8080", false})->open_total.inc();
  const std::string body =
      admin_response(f.state, "GET", "/metrics", false, AdminCaller::kLoopback);
  CHECK_THAT(body, Catch::Contains("# TYPE request_total counter"));
  const std::string plain =
      "tls=\"no_identity\",no_tls_reason=\"not_provided_by_service_discovery\",client_id=\"\","
      "server_id=\"\"";
  CHECK_THAT(body, Catch::Contains("response_total{direction=\"outbound\",target_service=\"web:"
                                   "80\",route=\"web-route\",route_rule=\"\",backend=\"\"," +
                                   plain + ",status_code=\"503\",classification=\"failure\"} 1"));
  CHECK_THAT(body, Catch::Contains("response_latency_ms_bucket{direction=\"outbound\","
                                   "target_service=\"web:80\",route=\"web-route\",route_rule=\"\","
                                   "backend=\"\"," +
                                   plain + ",le=\"20\"} 1"));
  CHECK_THAT(body, Catch::Contains("tcp_open_total{direction=\"inbound\""));
  for (const char* family : {"tcp_close_total", "tcp_open_connections", "tcp_read_bytes_total",
                             "tcp_write_bytes_total", "retry_total", "retry_budget_exhausted_total",
                             "config_reload_total", "response_latency_ms"}) {
    CHECK_THAT(body, Catch::Contains(std::string("# TYPE ") + family));
  }
}

TEST_CASE("latency buckets are the issue's list", "[metrics]") {
  CHECK(kLatencyBucketsMs == std::vector<double>{1,     2,     3,     4,    5,    10,   20,
                                                 30,    40,    50,    100,  200,  300,  400,
                                                 500,   1000,  2000,  3000, 4000, 5000, 10000,
                                                 20000, 30000, 40000, 50000});
}
