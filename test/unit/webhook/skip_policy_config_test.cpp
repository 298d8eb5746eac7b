#include <catch2/catch.hpp>

#include "webhook/config.h"

using weft::webhook::parse_config;

TEST_CASE("skip policy: defaults allow only narrow pod skips", "[config][skip-policy]") {
  auto config = parse_config("{}");
  REQUIRE(config);
  CHECK(config->pod_skip_allowed_inbound_ports.empty());
  CHECK(config->pod_skip_allowed_outbound_ports.empty());
  CHECK(config->pod_skip_allowed_subnets.empty());
  CHECK(config->pod_skip_max_ports == 16);
  CHECK(config->pod_skip_min_prefix_length == 24);
}

TEST_CASE("skip policy: every key read and written back", "[config][skip-policy]") {
  auto config = parse_config(R"({"podSkipAllowedInboundPorts": "22,9000-9100",
    "podSkipAllowedOutboundPorts": "1-65535", "podSkipAllowedSubnets": "10.0.0.0/8",
    "podSkipMaxPorts": 0, "podSkipMinPrefixLength": 32})");
  REQUIRE(config);
  CHECK(config->pod_skip_allowed_inbound_ports.size() == 2);
  CHECK(config->pod_skip_allowed_outbound_ports.size() == 1);
  CHECK(config->pod_skip_allowed_subnets.size() == 1);
  CHECK(config->pod_skip_max_ports == 0);
  CHECK(config->pod_skip_min_prefix_length == 32);
  auto again = parse_config(weft::webhook::to_json(*config).dump());
  REQUIRE(again);
  CHECK(weft::webhook::to_json(*again) == weft::webhook::to_json(*config));
}

TEST_CASE("skip policy: bad values name the key", "[config][skip-policy]") {
  const auto message = [](const char* text) {
    auto config = parse_config(text);
    REQUIRE_FALSE(config);
    return config.error().message;
  };
  CHECK_THAT(message(R"({"podSkipAllowedInboundPorts": "0"})"),
             Catch::Contains("podSkipAllowedInboundPorts"));
  CHECK_THAT(message(R"({"podSkipAllowedSubnets": "10.0.0.1/8"})"),
             Catch::Contains("podSkipAllowedSubnets"));
  CHECK_THAT(message(R"({"podSkipMaxPorts": -1})"), Catch::Contains("podSkipMaxPorts"));
  CHECK_THAT(message(R"({"podSkipMinPrefixLength": 33})"),
             Catch::Contains("podSkipMinPrefixLength"));
}
