#include "proxy/metrics.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;

TEST_CASE("a 5xx or no response is a failure, any other status a success", "[metrics]") {
  // Linkerd's classification: the proxy's own 4xx answers are successes too.
  for (int status : {100, 101, 200, 204, 301, 304, 400, 404, 408, 431, 499, 600, 999}) {
    CAPTURE(status);
    CHECK(classify(status) == Classification::kSuccess);
  }
  for (int status : {500, 501, 502, 503, 504, 599, 0, 99, 1000, -1}) {
    CAPTURE(status);
    CHECK(classify(status) == Classification::kFailure);
  }
  CHECK(to_string(Classification::kSuccess) == "success");
  CHECK(to_string(Classification::kFailure) == "failure");
}

TEST_CASE("response_total carries the status and its classification", "[metrics]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  RouteMetrics route(metrics, Direction::kOutbound, "web:80", "web-route");
  const auto series = [&](const std::string& code, const std::string& classification) {
    return &metrics.response_total.with_labels({"outbound", "web:80", "web-route", "", "",
                                                "no_identity", "not_provided_by_service_discovery",
                                                "", "", code, classification});
  };
  CHECK(&route.response(200) == series("200", "success"));
  CHECK(&route.response(404) == series("404", "success"));  // the proxy's "no route"
  CHECK(&route.response(431) == series("431", "success"));
  CHECK(&route.response(503) == series("503", "failure"));
  // Beyond the registered range: one "other" series per classification.
  CHECK(&route.response(600) == series("other", "success"));
  CHECK(&route.response(799) == series("other", "success"));
  CHECK(&route.response(0) == series("other", "failure"));
  route.response(404).inc();
  CHECK(series("404", "success")->value() == 1);
}

TEST_CASE("grpc_response_total carries the grpc-status and Linkerd's classification",
          "[metrics][grpc]") {
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  const auto series = [&](const std::string& status, const std::string& classification) {
    return &metrics.grpc_response_total.with_labels(
        {"outbound", "web:80", "web-route", "", "", "no_identity",
         "not_provided_by_service_discovery", "", "", status, classification});
  };
  {
    RouteMetrics route(metrics, Direction::kOutbound, "web:80", "web-route");
    CHECK(&route.grpc_response(grpc::Status::kOk) == series("0", "success"));
    CHECK(&route.grpc_response(grpc::Status::kUnavailable) == series("14", "failure"));
    CHECK(&route.grpc_response(grpc::Status::kNotFound) == series("5", "failure"));
    CHECK(&route.grpc_response(std::nullopt) == series("", "failure"));  // a reset
    route.grpc_response(grpc::Status::kUnavailable).inc();
    CHECK(series("14", "failure")->value() == 1);
  }
  // The route's series go with it (an expired target): a new one starts at 0.
  CHECK(series("14", "failure")->value() == 0);
}
