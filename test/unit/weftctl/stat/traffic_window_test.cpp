#include "weftctl/stat/traffic_window.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <limits>
#include <sstream>

using namespace weft::ctl::stat;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

std::vector<Sample> fixture(const std::string& name) {
  std::ifstream in(std::string(WEFTCTL_TESTDATA) + "/stat/" + name);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_prometheus_text(text.str());
  REQUIRE(parsed.has_value());
  return std::move(*parsed);
}

// The inbound series of every pod count for the pod's own row.
std::vector<std::string> inbound_by_pod(const std::string& pod, const Sample& sample) {
  if (label(sample, "direction") != "inbound") return {};
  return {pod};
}

Sample response(std::string status, std::string classification, double value,
                std::string direction = "inbound") {
  return {"response_total",
          {{"direction", std::move(direction)},
           {"target_service", "web:80"},
           {"status_code", std::move(status)},
           {"classification", std::move(classification)}},
          value};
}

Sample bucket(std::string le, double value) {
  return {"response_latency_ms_bucket",
          {{"direction", "inbound"}, {"target_service", "web:80"}, {"le", std::move(le)}},
          value};
}

}  // namespace

TEST_CASE("a counter's increase; a decrease is a reset, so all of the new value counts") {
  CHECK(counter_increase(10, 25) == 15);
  CHECK(counter_increase(10, 10) == 0);
  CHECK(counter_increase(500, 30) == 30);
  CHECK(counter_increase(0, 7) == 7);
}

TEST_CASE("quantiles interpolate inside a bucket, as histogram_quantile does") {
  // 100 observations: 50 in (5, 10], 40 in (10, 20], 10 in (20, 50].
  const std::map<double, double> buckets = {{1, 0},   {5, 0},    {10, 50},
                                            {20, 90}, {50, 100}, {kInf, 100}};
  CHECK(*histogram_quantile(0.5, buckets) == Approx(10.0));   // 5 + 5 * 50/50
  CHECK(*histogram_quantile(0.25, buckets) == Approx(7.5));   // 5 + 5 * 25/50
  CHECK(*histogram_quantile(0.95, buckets) == Approx(35.0));  // 20 + 30 * 5/10
  CHECK(*histogram_quantile(0.99, buckets) == Approx(47.0));  // 20 + 30 * 9/10
  // In the first bucket, from 0.
  CHECK(*histogram_quantile(0.5, {{1, 10}, {kInf, 10}}) == Approx(0.5));
  // Past the last finite bound: that bound, nothing better is known.
  CHECK(*histogram_quantile(0.99, {{1, 0}, {50000, 90}, {kInf, 100}}) == Approx(50000));
  CHECK_FALSE(histogram_quantile(0.5, {{1, 0}, {kInf, 0}}).has_value());
  CHECK_FALSE(histogram_quantile(0.5, {}).has_value());
}

TEST_CASE("two scrapes of a real proxy's page: golden metrics over the window") {
  const std::vector<PodScrapes> scrapes = {
      {"shop/web-1", fixture("proxy-metrics-before.txt"), fixture("proxy-metrics-after.txt")}};
  const auto rows = traffic_by_row(scrapes, inbound_by_pod);
  REQUIRE(rows.size() == 1);
  const Traffic& traffic = rows.at("shop/web-1");
  // mTLS: +90 successes and 10 failures (a series new in the window);
  // plaintext: +10 successes. The outbound series are not this row's.
  CHECK(traffic.responses == 110);
  CHECK(traffic.successes == 100);
  CHECK(traffic.mtls_responses == 100);
  CHECK(traffic.tcp_open_connections == 3);
  CHECK(traffic.latency_buckets.at(1) == 10);
  CHECK(traffic.latency_buckets.at(10) == 60);
  CHECK(traffic.latency_buckets.at(kInf) == 110);

  const GoldenMetrics metrics = golden_metrics(traffic, std::chrono::seconds(10));
  CHECK(metrics.requests == 110);
  CHECK(metrics.requests_per_second == Approx(11.0));
  CHECK(*metrics.success_rate == Approx(100.0 / 110));
  CHECK(*metrics.mtls_share == Approx(100.0 / 110));
  // Hand-computed: p50 rank 55 in (5, 10] holding 10..60 -> 5 + 5 * 45/50;
  // p95 rank 104.5 in (40, 50] (the proxy's buckets 30 and 40 hold 100
  // like 20) holding 100..110 -> 40 + 10 * 4.5/10; p99 rank 108.9 -> 40 + 10 * 8.9/10.
  CHECK(*metrics.p50_ms == Approx(9.5));
  CHECK(*metrics.p95_ms == Approx(44.5));
  CHECK(*metrics.p99_ms == Approx(48.9));
  CHECK(metrics.tcp_open_connections == 3);
  CHECK(metrics.identities == std::vector<std::string>{"spiffe://cluster.local/ns/shop/sa/load"});
}

TEST_CASE("a proxy that restarted in the window counts what it saw since") {
  const std::vector<PodScrapes> scrapes = {
      {"shop/web-2",
       {response("200", "success", 500), bucket("10", 500), bucket("+Inf", 500)},
       {response("200", "success", 30), bucket("10", 30), bucket("+Inf", 30)}}};
  const auto rows = traffic_by_row(scrapes, inbound_by_pod);
  const Traffic& traffic = rows.at("shop/web-2");
  CHECK(traffic.responses == 30);
  CHECK(traffic.successes == 30);
  CHECK(traffic.latency_buckets.at(kInf) == 30);
}

TEST_CASE("buckets reset apart stay monotonic, as Prometheus makes them") {
  // The 10 ms bucket's series was dropped and came back (a reset of 5), the
  // +Inf one grew by 3: read apart, 10 ms would hold more than +Inf.
  const std::vector<PodScrapes> scrapes = {
      {"p", {bucket("10", 100), bucket("+Inf", 100)}, {bucket("10", 5), bucket("+Inf", 103)}}};
  const auto traffic = traffic_by_row(scrapes, inbound_by_pod).at("p");
  CHECK(traffic.latency_buckets.at(10) == 5);
  CHECK(traffic.latency_buckets.at(kInf) == 5);
}

TEST_CASE("no traffic in the window: rates unknown, not 0 %") {
  const std::vector<PodScrapes> scrapes = {
      {"shop/web-1", fixture("proxy-metrics-before.txt"), fixture("proxy-metrics-before.txt")}};
  const auto rows = traffic_by_row(scrapes, inbound_by_pod);
  const GoldenMetrics metrics = golden_metrics(rows.at("shop/web-1"), std::chrono::seconds(30));
  CHECK(metrics.requests == 0);
  CHECK(metrics.requests_per_second == 0);
  CHECK_FALSE(metrics.success_rate.has_value());
  CHECK_FALSE(metrics.p50_ms.has_value());
  CHECK_FALSE(metrics.p99_ms.has_value());
  CHECK_FALSE(metrics.mtls_share.has_value());
  CHECK(metrics.tcp_open_connections == 2);
  CHECK(metrics.identities.empty());
  // A row no series reached at all.
  CHECK_FALSE(golden_metrics(Traffic{}, std::chrono::seconds(30)).success_rate.has_value());
}

TEST_CASE("a series may count for several rows, and series of other rows are left out") {
  const std::vector<PodScrapes> scrapes = {
      {"a", {}, {response("200", "success", 4), response("200", "success", 9, "outbound")}},
      {"b", {}, {response("503", "failure", 2)}}};
  const auto rows = traffic_by_row(scrapes, [](const std::string& pod, const Sample& sample) {
    if (label(sample, "direction") != "inbound") return std::vector<std::string>{};
    return std::vector<std::string>{"all", pod};
  });
  REQUIRE(rows.size() == 3);
  CHECK(rows.at("all").responses == 6);
  CHECK(rows.at("all").successes == 4);
  CHECK(rows.at("all").pods == std::set<std::string>{"a", "b"});
  CHECK(rows.at("a").responses == 4);
  CHECK(rows.at("b").successes == 0);
}
