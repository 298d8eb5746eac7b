// The flags of the metric-series bounds and the admin port's request limit:
// their defaults, the environment, and bad values naming the flag.

#include <catch2/catch.hpp>

#include "proxy/metrics.h"
#include "proxy/settings.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

TEST_CASE("metric bounds and the admin limit have defaults and flags", "[settings]") {
  auto defaults = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(defaults.has_value());
  CHECK(defaults.value().metrics_max_dynamic_targets == 100);
  CHECK(defaults.value().metrics_target_expiry == 10min);
  CHECK(defaults.value().admin_request_timeout == 10s);
  // What main.cpp builds the cache with matches MetricsCache's own defaults.
  CHECK(MetricsLimits{}.max_dynamic_targets == defaults.value().metrics_max_dynamic_targets);
  CHECK(MetricsLimits{}.dynamic_target_expiry == defaults.value().metrics_target_expiry);

  auto set =
      parse_settings({"--metrics-max-dynamic-targets", "5", "--admin-request-timeout=2s"},
                     weft::flags::environment_of({{"WEFT_PROXY_METRICS_TARGET_EXPIRY", "30s"}}));
  REQUIRE(set.has_value());
  CHECK(set.value().metrics_max_dynamic_targets == 5);
  CHECK(set.value().metrics_target_expiry == 30s);
  CHECK(set.value().admin_request_timeout == 2s);

  auto zero = parse_settings({"--admin-request-timeout", "0"}, weft::flags::environment_of({}));
  REQUIRE_FALSE(zero.has_value());
  CHECK_THAT(zero.error().message, Catch::Contains("--admin-request-timeout"));
  auto negative =
      parse_settings({"--metrics-max-dynamic-targets", "-1"}, weft::flags::environment_of({}));
  REQUIRE_FALSE(negative.has_value());
  CHECK_THAT(negative.error().message, Catch::Contains("--metrics-max-dynamic-targets"));
}
