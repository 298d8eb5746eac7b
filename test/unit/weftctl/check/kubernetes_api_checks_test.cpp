#include <catch2/catch.hpp>

#include "check_fixtures.h"
#include "weftctl/check/checks.h"
#include "weftctl/check/kubernetes_version.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {
Facts with_version(const std::string& git_version) {
  Facts facts = healthy_facts();
  facts.server_version = answer_json(200, {{"gitVersion", git_version}});
  return facts;
}
}  // namespace

TEST_CASE("kubernetes version: gitVersion forms") {
  CHECK(parse_kubernetes_version("v1.34.4") == KubernetesVersion{1, 34});
  CHECK(parse_kubernetes_version("v1.31.0-gke.1") == KubernetesVersion{1, 31});
  CHECK(parse_kubernetes_version("1.30") == KubernetesVersion{1, 30});
  CHECK_FALSE(parse_kubernetes_version("v1"));
  CHECK_FALSE(parse_kubernetes_version("v1."));
  CHECK_FALSE(parse_kubernetes_version("latest"));
}

TEST_CASE("kubernetes-api: the supported range's edges") {
  const std::string name = "the API server's version is supported";
  CHECK(find_result(check_kubernetes_api(with_version("v1.30.9")), name).status == Status::kFail);
  CHECK_THAT(find_result(check_kubernetes_api(with_version("v1.30.9")), name).detail,
             Catch::Contains("1.31 or newer"));
  CHECK(find_result(check_kubernetes_api(with_version("v1.31.0")), name).status == Status::kOk);
  CHECK(find_result(check_kubernetes_api(with_version("v1.34.4")), name).status == Status::kOk);
  const auto newer = find_result(check_kubernetes_api(with_version("v1.35.0")), name);
  CHECK(newer.status == Status::kWarn);
  CHECK_THAT(newer.detail, Catch::Contains("1.31 to 1.34"));
  CHECK(find_result(check_kubernetes_api(with_version("weird")), name).status == Status::kWarn);
}

TEST_CASE("kubernetes-api: an unreachable API server is the only result") {
  Facts facts = healthy_facts();
  facts.server_version = Answer{0, nullptr, "Could not connect to server"};
  const auto results = run_checks(facts, {});
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == Status::kFail);
  CHECK(results[0].detail == "Could not connect to server");
  CHECK_THAT(results[0].hint, Catch::Contains("--kubeconfig"));
}

TEST_CASE("run_checks: a healthy install passes every check") {
  const auto results = run_checks(healthy_facts(), {});
  for (const auto& result : results) {
    INFO(result.category << ": " << result.name << ": " << result.detail);
    CHECK(result.status == Status::kOk);
  }
  CHECK(results.size() > 20);
  CHECK(healthy(results));
}
