// weft-operator's command line.

#include "operator/options.h"

#include <catch2/catch.hpp>

using weft::op::parse_options;

TEST_CASE("options: defaults and Kubernetes-style flags", "[options]") {
  auto defaults = parse_options({});
  REQUIRE(defaults.has_value());
  CHECK(defaults->lease_namespace == "weft-system");
  CHECK(defaults->metrics->port == 8080);
  CHECK(defaults->health->port == 8081);
  CHECK(defaults->leader_elect);

  auto set = parse_options({"--kubeconfig=/k", "--namespace", "ops", "--metrics-bind-address=0",
                            "--health-probe-bind-address", "[::1]:9000", "--log-level=debug",
                            "--workers=4", "--leader-elect=false", "--kube-api-qps=200",
                            "--kube-api-burst", "300"});
  REQUIRE(set.has_value());
  CHECK(set->kubeconfig == "/k");
  CHECK(set->lease_namespace == "ops");
  CHECK_FALSE(set->metrics.has_value());
  CHECK(set->health->host == "::1");
  CHECK(set->health->port == 9000);
  CHECK(set->log_level == weft::LogLevel::kDebug);
  CHECK(set->workers == 4);
  CHECK_FALSE(set->leader_elect);
  CHECK(set->kube_api_qps == 200);
  CHECK(set->kube_api_burst == 300);
  CHECK(parse_options({"--help"})->help);
  auto selector = parse_options({"--namespace-selector=team=a,env=prod"});
  REQUIRE(selector.has_value());
  CHECK(selector->namespace_selector ==
        std::map<std::string, std::string>{{"team", "a"}, {"env", "prod"}});
}

TEST_CASE("options: bad flags are refused with the flag's name", "[options]") {
  const auto error = [](std::vector<std::string> args) {
    auto parsed = parse_options(args);
    REQUIRE_FALSE(parsed.has_value());
    return parsed.error().message;
  };
  CHECK_THAT(error({"--bogus"}), Catch::Contains("unknown flag --bogus"));
  CHECK_THAT(error({"--namespace"}), Catch::Contains("--namespace needs a value"));
  CHECK_THAT(error({"--metrics-bind-address=8080"}), Catch::Contains("--metrics-bind-address"));
  CHECK_THAT(error({"--health-probe-bind-address=:99999"}), Catch::Contains("0 to 65535"));
  CHECK_THAT(error({"--log-level=loud"}), Catch::Contains("--log-level"));
  CHECK_THAT(error({"--workers=0"}), Catch::Contains("--workers"));
  CHECK_THAT(error({"--namespace-selector=a!=b"}), Catch::Contains("--namespace-selector"));
  CHECK_THAT(error({"--namespace-selector=novalue"}), Catch::Contains("key=value"));
}

TEST_CASE("options: pflag's spellings of a bool, and the last of a repeated flag", "[options]") {
  CHECK_FALSE(parse_options({"--leader-elect", "false"})->leader_elect);
  CHECK(parse_options({"--leader-elect=false", "--leader-elect"})->leader_elect);
  // An override appended to the manifest's args wins.
  CHECK(parse_options({"--log-level=info", "--log-level=debug"})->log_level ==
        weft::LogLevel::kDebug);
  CHECK_THAT(weft::op::usage(), Catch::Contains("--metrics-bind-address ADDR"));
  CHECK_THAT(weft::op::usage(), Catch::Contains("(default :8080)"));
}
