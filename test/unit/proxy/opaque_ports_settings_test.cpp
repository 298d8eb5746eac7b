#include <catch2/catch.hpp>

#include "proxy/settings.h"

using weft::proxy::parse_settings;

// The webhook writes WEFT_PROXY_OPAQUE_PORTS from the pod's annotation with
// weft::format_port_list: every form it writes must start the proxy.
TEST_CASE("opaque ports: ranges and lists from the environment", "[settings]") {
  auto settings = parse_settings(
      {}, weft::flags::environment_of({{"WEFT_PROXY_OPAQUE_PORTS", "25,8000-8100,65535"}}));
  REQUIRE(settings.has_value());
  const auto& ports = settings.value().opaque_ports;
  CHECK(ports.contains(25));
  CHECK(ports.contains(8000));
  CHECK(ports.contains(8050));
  CHECK(ports.contains(8100));
  CHECK(ports.contains(65535));
  CHECK_FALSE(ports.contains(26));
  CHECK_FALSE(ports.contains(7999));
  CHECK_FALSE(ports.contains(8101));
  CHECK(ports.ranges().size() == 3);
}

TEST_CASE("opaque ports: the whole range is one entry, not 65535", "[settings]") {
  auto settings = parse_settings({"--opaque-ports", "1-65535"}, weft::flags::environment_of({}));
  REQUIRE(settings.has_value());
  CHECK(settings.value().opaque_ports.ranges().size() == 1);
  CHECK(settings.value().opaque_ports.contains(1));
  CHECK(settings.value().opaque_ports.contains(65535));
}

TEST_CASE("opaque ports: a bad list is a usage error naming the entry", "[settings]") {
  auto settings =
      parse_settings({"--opaque-ports", "80,9000-8000"}, weft::flags::environment_of({}));
  REQUIRE_FALSE(settings.has_value());
  CHECK_THAT(settings.error().message, Catch::Contains("9000-8000"));
}
