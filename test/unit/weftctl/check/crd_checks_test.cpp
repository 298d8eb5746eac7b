#include <catch2/catch.hpp>

#include "check_fixtures.h"
#include "weftctl/check/checks.h"
#include "weftctl/check/install_layout.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {
const std::string kRoute = "meshroutes.weft.io is installed at v1alpha1";

CheckResult route_result(const std::function<void(nlohmann::json&)>& change) {
  Facts facts = healthy_facts();
  change(facts.crds["meshroutes.weft.io"].body);
  return find_result(check_crds(facts), kRoute);
}
}  // namespace

TEST_CASE("crds: the expected versions and fields are those of crds/") {
  for (const auto& expected : weft::ctl::expected_crds()) {
    const std::string file =
        expected.name == "meshroutes.weft.io" ? "meshroute.yaml" : "meshpolicy.yaml";
    const auto crd = installed_crd(file);
    INFO(expected.name);
    CHECK(crd["metadata"]["name"] == expected.name);
    const auto& version = crd["spec"]["versions"][0];
    CHECK(version["name"] == expected.version);
    std::vector<std::string> fields;
    for (const auto& [field, schema] :
         version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].items()) {
      fields.push_back(field);
    }
    std::vector<std::string> wanted = expected.spec_fields;
    std::sort(fields.begin(), fields.end());
    std::sort(wanted.begin(), wanted.end());
    CHECK(fields == wanted);
  }
}

TEST_CASE("crds: installed and established is ok") {
  const auto results = check_crds(healthy_facts());
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == Status::kOk);
  CHECK(results[1].status == Status::kOk);
}

TEST_CASE("crds: missing, or not the expected version, fails with the apply hint") {
  Facts facts = healthy_facts();
  facts.crds["meshroutes.weft.io"] = kNotFound;
  auto missing = find_result(check_crds(facts), kRoute);
  CHECK(missing.status == Status::kFail);
  CHECK(missing.detail == "not installed");
  CHECK_THAT(missing.hint, Catch::Contains("kubectl apply --server-side -f crds/"));

  auto other_version =
      route_result([](nlohmann::json& crd) { crd["spec"]["versions"][0]["name"] = "v1alpha0"; });
  CHECK(other_version.status == Status::kFail);
  CHECK(other_version.detail == "no version v1alpha1 (the cluster has v1alpha0)");

  CHECK(route_result([](nlohmann::json& crd) {
          crd["spec"]["versions"][0]["served"] = false;
        }).detail == "v1alpha1 is not served");
  CHECK(route_result([](nlohmann::json& crd) {
          crd["spec"]["versions"][0]["storage"] = false;
        }).detail == "v1alpha1 is not the storage version");
}

TEST_CASE("crds: a schema without an expected field, or not established, fails") {
  auto old = route_result([](nlohmann::json& crd) {
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        .erase("rules");
  });
  CHECK(old.status == Status::kFail);
  CHECK(old.detail == "its schema lacks spec fields rules (an older CRD)");
  auto pending =
      route_result([](nlohmann::json& crd) { crd["status"]["conditions"][1]["status"] = "False"; });
  CHECK(pending.status == Status::kFail);
  CHECK(pending.detail == "not Established yet");
}

TEST_CASE("crds: unreadable is a failure naming the error") {
  Facts facts = healthy_facts();
  facts.crds["meshpolicies.weft.io"] = answer_json(403, {{"message", "forbidden: User \"x\""}});
  auto result = find_result(check_crds(facts), "meshpolicies.weft.io");
  CHECK(result.status == Status::kFail);
  CHECK(result.detail == "cannot read it: HTTP 403: forbidden: User \"x\"");
}
