#include <catch2/catch.hpp>

#include "proxy/settings.h"

using weft::ProbeRoute;
using weft::proxy::parse_settings;

// The webhook writes WEFT_PROXY_INBOUND_PROBES with weft::format_probe_routes.
TEST_CASE("inbound probes: the webhook's list from the environment", "[settings]") {
  auto settings = parse_settings(
      {},
      weft::flags::environment_of({{"WEFT_PROXY_INBOUND_PROBES", "8081/ready?x=1 8080/healthz"}}));
  REQUIRE(settings.has_value());
  CHECK(settings->inbound_probes ==
        std::vector<ProbeRoute>{{8080, "/healthz"}, {8081, "/ready?x=1"}});
  auto none = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(none.has_value());
  CHECK(none->inbound_probes.empty());
}

TEST_CASE("inbound probes: paths are normalised as requests are, queries kept", "[settings]") {
  auto settings = parse_settings({"--inbound-probes", "8080/a//b/../heal%74hz?q=%74"},
                                 weft::flags::environment_of({}));
  REQUIRE(settings.has_value());
  CHECK(settings->inbound_probes == std::vector<ProbeRoute>{{8080, "/a/healthz?q=%74"}});
}

TEST_CASE("inbound probes: a bad list is a usage error naming the item", "[settings]") {
  for (const char* bad : {"8080", "8080/a  8080/b", "0/a", "8080/a b", "8080/a%2Fb"}) {
    INFO(bad);
    auto settings = parse_settings({"--inbound-probes", bad}, weft::flags::environment_of({}));
    REQUIRE_FALSE(settings.has_value());
    CHECK_THAT(settings.error().message, Catch::StartsWith("--inbound-probes: "));
  }
  auto from_env = parse_settings(
      {}, weft::flags::environment_of({{"WEFT_PROXY_INBOUND_PROBES", "8080/a,8080/b x"}}));
  REQUIRE_FALSE(from_env.has_value());
  CHECK_THAT(from_env.error().message, Catch::StartsWith("WEFT_PROXY_INBOUND_PROBES: 'x'"));
}
