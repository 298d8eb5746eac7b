// The limit on connections on which no byte moved: its default, flag,
// variable and metric label.
#include <catch2/catch.hpp>

#include "proxy/metrics.h"
#include "proxy/settings.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

TEST_CASE("the silent connection timeout has its documented default", "[settings][limits]") {
  auto settings = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(settings.has_value());
  CHECK(settings->silent_connection_timeout == 30s);
}

TEST_CASE("the silent connection timeout is set by flag or variable", "[settings][limits]") {
  auto by_flag =
      parse_settings({"--silent-connection-timeout", "5s"}, weft::flags::environment_of({}));
  REQUIRE(by_flag.has_value());
  CHECK(by_flag->silent_connection_timeout == 5s);
  auto by_env = parse_settings(
      {}, weft::flags::environment_of({{"WEFT_PROXY_SILENT_CONNECTION_TIMEOUT", "2m"}}));
  REQUIRE(by_env.has_value());
  CHECK(by_env->silent_connection_timeout == 2min);
  auto zero = parse_settings({"--silent-connection-timeout", "0"}, weft::flags::environment_of({}));
  REQUIRE_FALSE(zero.has_value());
  CHECK_THAT(zero.error().message, Catch::Contains("--silent-connection-timeout"));
}

TEST_CASE("the silent connection timeout has its own limit label", "[metrics][limits]") {
  CHECK(to_string(Limit::kSilentConnectionTimeout) == "silent_connection_timeout");
}

TEST_CASE("the tunnel half-closed timeout has its default, flag and label", "[settings][limits]") {
  auto settings = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(settings.has_value());
  CHECK(settings->tunnel_half_closed_timeout == 30s);
  auto by_flag =
      parse_settings({"--tunnel-half-closed-timeout", "5s"}, weft::flags::environment_of({}));
  REQUIRE(by_flag.has_value());
  CHECK(by_flag->tunnel_half_closed_timeout == 5s);
  auto zero =
      parse_settings({"--tunnel-half-closed-timeout", "0"}, weft::flags::environment_of({}));
  REQUIRE_FALSE(zero.has_value());
  CHECK(to_string(Limit::kTunnelHalfClosedTimeout) == "tunnel_half_closed_timeout");
}
