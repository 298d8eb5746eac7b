#include <catch2/catch.hpp>

#include "check_fixtures.h"
#include "weftctl/check/checks.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

TEST_CASE("control plane: every Deployment ready, one version") {
  const auto results = check_control_plane(healthy_facts());
  CHECK(find_result(results, "weft-webhook is ready").detail == "2 of 2 ready");
  CHECK(find_result(results, "the control plane runs one version").detail == "v0.1.0");
  CHECK(healthy(results));
}

TEST_CASE("control plane: the webhook scaled to zero fails with the scale hint") {
  Facts facts = healthy_facts();
  facts.deployments["weft-webhook"] = answer_json(200, deployment("weft-webhook", 0, 0));
  const auto result = find_result(check_control_plane(facts), "weft-webhook is ready");
  CHECK(result.status == Status::kFail);
  CHECK_THAT(result.detail, Catch::StartsWith("scaled to zero replicas"));
  CHECK_THAT(result.detail, Catch::Contains("failurePolicy Fail"));
  CHECK(result.hint == "kubectl -n weft-system scale deployment/weft-webhook --replicas=2");
}

TEST_CASE("control plane: none ready fails, some ready warns") {
  Facts facts = healthy_facts();
  facts.deployments["weft-identity"] = answer_json(200, deployment("weft-identity", 2, 0));
  facts.deployments["weft-operator"] = answer_json(200, deployment("weft-operator", 2, 1));
  const auto results = check_control_plane(facts);
  CHECK(find_result(results, "weft-identity is ready").status == Status::kFail);
  CHECK_THAT(find_result(results, "weft-identity is ready").detail,
             Catch::StartsWith("0 of 2 ready"));
  CHECK(find_result(results, "weft-operator is ready").status == Status::kWarn);
  CHECK(find_result(results, "weft-operator is ready").detail == "1 of 2 ready");
}

TEST_CASE("control plane: a missing Deployment or namespace fails") {
  Facts facts = healthy_facts();
  facts.deployments["weft-operator"] = kNotFound;
  CHECK(find_result(check_control_plane(facts), "weft-operator is ready").status == Status::kFail);
  facts.control_plane_namespace = kNotFound;
  const auto results = check_control_plane(facts);
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == Status::kFail);
  CHECK_THAT(results[0].hint, Catch::Contains("docs/install.md"));
}

TEST_CASE("control plane: two versions warn and name the pods") {
  Facts facts = healthy_facts();
  facts.control_plane_pods.body["items"][1] =
      control_plane_pod("weft-operator", "weft-operator-b", "0.2.0");
  const auto result = find_result(check_control_plane(facts), "the control plane runs one version");
  CHECK(result.status == Status::kWarn);
  CHECK(result.detail ==
        "v0.1.0: weft-identity-a weft-identity-b weft-operator-a weft-webhook-a weft-webhook-b; "
        "v0.2.0: weft-operator-b");
}
