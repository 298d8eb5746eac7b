#include <catch2/catch.hpp>

#include "check_fixtures.h"
#include "weftctl/check/checks.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {
Facts pre_facts(bool allowed, bool system_exists) {
  Facts facts = healthy_facts();
  facts.mode = Mode::kPreInstall;
  facts.control_plane_namespace =
      system_exists ? answer_json(200, {{"kind", "Namespace"}}) : kNotFound;
  facts.access = {
      {"create", "apiextensions.k8s.io", "customresourcedefinitions", "",
       answer_json(201, {{"status", {{"allowed", true}}}})},
      {"create", "apps", "deployments", "weft-system",
       answer_json(201,
                   {{"status", {{"allowed", allowed}, {"reason", "no RBAC policy matched"}}}})},
  };
  return facts;
}
}  // namespace

TEST_CASE("pre-install: allowed everywhere and no weft-system: only the pre checks, all ok") {
  const auto results = run_checks(pre_facts(true, false), {});
  for (const auto& result : results) {
    INFO(result.name);
    CHECK(result.status == Status::kOk);
    CHECK((result.category == "kubernetes-api" || result.category == "pre-install"));
  }
  CHECK(find_result(results, "can create customresourcedefinitions.apiextensions.k8s.io").status ==
        Status::kOk);
  CHECK(find_result(results, "can create deployments.apps in weft-system").status == Status::kOk);
}

TEST_CASE("pre-install: a denied permission fails with the reason") {
  const auto result =
      find_result(check_install_permissions(pre_facts(false, false)), "can create deployments");
  CHECK(result.status == Status::kFail);
  CHECK(result.detail == "not allowed: no RBAC policy matched");
  CHECK_THAT(result.hint, Catch::Contains("cluster administrator"));
}

TEST_CASE("pre-install: an existing weft-system is a warning") {
  const auto results = check_install_permissions(pre_facts(true, true));
  const auto result = find_result(results, "weft-system does not exist yet");
  CHECK(result.status == Status::kWarn);
  CHECK_THAT(result.hint, Catch::Contains("without --pre"));
  CHECK(healthy(results));
}

TEST_CASE("pre-install: a review the API server refuses fails") {
  Facts facts = pre_facts(true, false);
  facts.access[0].review = answer_json(403, {{"message", "forbidden"}});
  CHECK(find_result(check_install_permissions(facts), "can create customresourcedefinitions")
            .status == Status::kFail);
}
