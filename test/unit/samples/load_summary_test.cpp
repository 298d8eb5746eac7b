#include <catch2/catch.hpp>

#include "samples/load/latency_samples.h"
#include "samples/load/responder.h"
#include "samples/load/schedule.h"
#include "samples/load/tally.h"

using namespace weft::samples;

TEST_CASE("percentiles: nearest rank", "[percentile]") {
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  CHECK(nearest_rank_percentile(hundred, 50) == 50);
  CHECK(nearest_rank_percentile(hundred, 95) == 95);
  CHECK(nearest_rank_percentile(hundred, 99) == 99);
  CHECK(nearest_rank_percentile(hundred, 100) == 100);
  CHECK(nearest_rank_percentile(hundred, 0.1) == 1);
  // Wikipedia's example: {15, 20, 35, 40, 50}: p30 = 20, p40 = 20, p50 = 35, p100 = 50.
  const std::vector<double> five{15, 20, 35, 40, 50};
  CHECK(nearest_rank_percentile(five, 30) == 20);
  CHECK(nearest_rank_percentile(five, 40) == 20);
  CHECK(nearest_rank_percentile(five, 50) == 35);
  CHECK(nearest_rank_percentile(five, 100) == 50);
  CHECK(nearest_rank_percentile({}, 50) == 0);
  CHECK(nearest_rank_percentile({7}, 99) == 7);
}

TEST_CASE("latency samples: exact below capacity, in any order", "[percentile]") {
  LatencySamples samples(1000);
  for (int i = 100; i >= 1; --i) samples.add(i);
  const auto p = samples.percentiles();
  CHECK(p.p50 == 50);
  CHECK(p.p95 == 95);
  CHECK(p.p99 == 99);
  CHECK(p.max == 100);
  CHECK(samples.count() == 100);
}

TEST_CASE("latency samples: a bounded reservoir stays representative", "[percentile]") {
  LatencySamples samples(1000);
  for (int i = 1; i <= 100000; ++i) samples.add(i % 1000);  // uniform 0..999
  CHECK(samples.count() == 100000);
  CHECK(samples.kept() == 1000);
  const auto p = samples.percentiles();
  // A uniform sample of 1000 from 0..999: p50 within ±60 of 500 is > 3 sigma.
  CHECK(p.p50 == Approx(500).margin(60));
  CHECK(p.p95 == Approx(950).margin(30));
  CHECK(p.max == 999);  // the maximum is tracked exactly
}

TEST_CASE("responder: the top-level answer, or a named service's in a chain", "[responder]") {
  const std::string chain = R"({"name":"web","version":"v1","pod":"web-0","downstream":[
      {"url":"http://api/","status":200,"body":{"name":"api","version":"v3","downstream":[
        {"url":"http://backend/","status":200,
         "body":{"name":"backend","version":"v2","pod":"backend-v2-x"}}]}}]})";
  CHECK(find_responder(chain, "").version == "v1");
  CHECK(find_responder(chain, "").pod == "web-0");
  CHECK(find_responder(chain, "api").version == "v3");
  CHECK(!find_responder(chain, "api").pod);  // no pod field
  CHECK(find_responder(chain, "backend").version == "v2");
  CHECK(find_responder(chain, "backend").pod == "backend-v2-x");
  CHECK(!find_responder(chain, "cache").version);
  CHECK(!find_responder("not json", "").version);
  CHECK(!find_responder(R"({"version":2,"pod":""})", "").version);
  CHECK(!find_responder(R"({"version":2,"pod":""})", "").pod);  // empty: no POD_NAME
  CHECK(!find_responder(R"([1,2])", "").version);
  CHECK(!find_responder("", "backend").version);
  // Deeper than the walk goes: not found, and no crash.
  std::string deep = R"({"name":"x"})";
  for (int i = 0; i < 100; ++i) deep = R"({"downstream":[)" + deep + "]}";
  CHECK(!find_responder(deep, "x").version);
}

TEST_CASE("tally: statuses, failures, versions and success rate", "[tally]") {
  Tally tally;
  auto response = [](int status, int ms) {
    CallResult result;
    result.status = status;
    result.latency = std::chrono::milliseconds(ms);
    return result;
  };
  for (int i = 0; i < 9; ++i) tally.record(response(200, 10), {"v1", "backend-a"});
  tally.record(response(200, 10), {"v2", "backend-b"});
  tally.record(response(500, 20), {"v1", std::nullopt});
  CallResult timeout;
  timeout.failure = CallFailure::kTimeout;
  timeout.latency = std::chrono::milliseconds(1000);
  tally.record(timeout, {});

  CHECK(tally.requests == 12);
  CHECK(tally.successes == 10);
  CHECK(tally.success_rate() == Approx(10.0 / 12));
  CHECK(tally.outcomes ==
        std::map<std::string, std::uint64_t>{{"200", 10}, {"500", 1}, {"timeout", 1}});
  CHECK(tally.versions == std::map<std::string, std::uint64_t>{{"v1", 10}, {"v2", 1}});
  CHECK(tally.pods == std::map<std::string, std::uint64_t>{{"backend-a", 9}, {"backend-b", 1}});
  CHECK(tally.latencies.percentiles().max == Approx(1000));

  const auto json = render_json(tally, std::chrono::seconds(2));
  CHECK(json["requests"] == 12);
  CHECK(json["rate"] == Approx(6.0));
  CHECK(json["statuses"]["timeout"] == 1);
  CHECK(json["versions"]["v2"] == 1);
  CHECK(json["pods"]["backend-a"] == 9);
  CHECK(json["latency_ms"]["p50"] == Approx(10));

  const std::string text = render_text(tally, std::chrono::seconds(2));
  CHECK(text.find("83.33%") != std::string::npos);
  CHECK(text.find("500: 1") != std::string::npos);
  CHECK(text.find("v2: 1 (9.1%)") != std::string::npos);
  CHECK(text.find("backend-b: 1") != std::string::npos);
}

TEST_CASE("schedule: request i is due at i / rate", "[schedule]") {
  const auto start = std::chrono::steady_clock::time_point{};
  CHECK(due_time(start, 0, 100) == start);
  CHECK(due_time(start, 50, 100) - start == std::chrono::milliseconds(500));
  CHECK(due_time(start, 3, 2) - start == std::chrono::milliseconds(1500));
  CHECK(due_time(start, 1000, 0) == start);  // no limit
}
