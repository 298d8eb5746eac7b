// The limits on connections and time: their defaults, flags and the
// per-port tunnel idle timeout.
#include <catch2/catch.hpp>

#include "proxy/settings.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

TEST_CASE("limits have their documented defaults", "[settings][limits]") {
  auto settings = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(settings.has_value());
  CHECK(settings->max_outbound_connections == 1'000);
  CHECK(settings->max_inbound_connections == 1'000);
  CHECK(settings->body_idle_timeout == 60s);
  CHECK(settings->response_timeout == 60s);
  CHECK(settings->tunnel_idle_timeout == 1h);
  CHECK(settings->tunnel_idle_timeout_for(5432) == 1h);
}

TEST_CASE("the tunnel idle timeout is set per destination port", "[settings][limits]") {
  auto settings = parse_settings(
      {"--tunnel-idle-timeout", "10m", "--tunnel-idle-timeout-by-port", "5432=24h, 6379=30s"},
      weft::flags::environment_of({{"WEFT_PROXY_MAX_INBOUND_CONNECTIONS", "100"}}));
  REQUIRE(settings.has_value());
  CHECK(settings->max_inbound_connections == 100);
  CHECK(settings->tunnel_idle_timeout_for(5432) == 24h);
  CHECK(settings->tunnel_idle_timeout_for(6379) == 30s);
  CHECK(settings->tunnel_idle_timeout_for(80) == 10min);
}

TEST_CASE("bad limits are usage errors naming the flag", "[settings][limits]") {
  const auto error_of = [](std::vector<std::string> args) {
    auto settings = parse_settings(args, weft::flags::environment_of({}));
    REQUIRE_FALSE(settings.has_value());
    return settings.error().message;
  };
  CHECK_THAT(error_of({"--max-outbound-connections", "0"}),
             Catch::Contains("--max-outbound-connections"));
  CHECK_THAT(error_of({"--body-idle-timeout", "0"}), Catch::Contains("--body-idle-timeout"));
  CHECK_THAT(error_of({"--tunnel-idle-timeout-by-port", "5432:1h"}),
             Catch::Contains("PORT=DURATION"));
  CHECK_THAT(error_of({"--tunnel-idle-timeout-by-port", "0=1h"}),
             Catch::Contains("--tunnel-idle-timeout-by-port"));
  CHECK_THAT(error_of({"--tunnel-idle-timeout-by-port", "80=soon"}),
             Catch::Contains("--tunnel-idle-timeout-by-port"));
}
