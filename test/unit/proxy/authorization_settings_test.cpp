// The authorization and rate-limit flags: defaults, flags, variables, bounds.
#include <catch2/catch.hpp>

#include "proxy/settings.h"
#include "weft/constants.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

TEST_CASE("authorization limits have their documented defaults", "[settings][authz]") {
  auto settings = parse_settings({}, weft::flags::environment_of({}));
  REQUIRE(settings.has_value());
  CHECK(settings->pod_labels_file.empty());
  CHECK(settings->max_authz_metric_series == 4096);
  CHECK(settings->denial_log_interval == 10s);
  CHECK(settings->max_denial_log_clients == 4096);
  CHECK(settings->max_rate_limited_clients == 10'000);
}

TEST_CASE("authorization limits are set by flag or variable", "[settings][authz]") {
  auto by_flag = parse_settings(
      {"--pod-labels-file", "/l", "--max-authz-metric-series", "7", "--denial-log-interval", "3s",
       "--max-denial-log-clients", "9", "--max-rate-limited-clients", "11"},
      weft::flags::environment_of({}));
  REQUIRE(by_flag.has_value());
  CHECK(by_flag->pod_labels_file == "/l");
  CHECK(by_flag->max_authz_metric_series == 7);
  CHECK(by_flag->denial_log_interval == 3s);
  CHECK(by_flag->max_denial_log_clients == 9);
  CHECK(by_flag->max_rate_limited_clients == 11);
  // The webhook sets the labels file by the variable the constants name.
  auto by_env = parse_settings(
      {}, weft::flags::environment_of({{std::string(weft::kEnvPodLabelsFile), "/podinfo/labels"},
                                       {"WEFT_PROXY_MAX_RATE_LIMITED_CLIENTS", "5"},
                                       {"WEFT_PROXY_DENIAL_LOG_INTERVAL", "1m"}}));
  REQUIRE(by_env.has_value());
  CHECK(by_env->pod_labels_file == "/podinfo/labels");
  CHECK(by_env->max_rate_limited_clients == 5);
  CHECK(by_env->denial_log_interval == 1min);
}

TEST_CASE("authorization limits refuse zero", "[settings][authz]") {
  for (const char* flag : {"--max-authz-metric-series", "--denial-log-interval",
                           "--max-denial-log-clients", "--max-rate-limited-clients"}) {
    auto zero = parse_settings({flag, "0"}, weft::flags::environment_of({}));
    REQUIRE_FALSE(zero.has_value());
    CHECK_THAT(zero.error().message, Catch::Contains(flag));
  }
}
