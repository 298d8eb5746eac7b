// The patch and the response for pods of every shape the patch depends on
// (init containers or not, volumes or not, metadata and annotations or not,
// per-pod knobs or not), in native, classic and an unusual configuration,
// against the expected answers in testdata/golden-patches.json. The expected
// patches were first written by the DOM path the webhook used to have, so they
// pin what the API server has always received.
//
// After a deliberate change to the injection, rewrite the file and review its diff:
//   WEFT_UPDATE_GOLDEN=1 build/bin/weft_webhook_unit_tests '[golden]'

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "review_fixtures.h"
#include "webhook/mutate.h"
#include "weft/base64.h"

using nlohmann::json;
using weft::webhook::InjectorConfig;
using weft::webhook::Scope;

namespace {

const std::string kGoldenFile = std::string(WEFT_WEBHOOK_TESTDATA) + "/golden-patches.json";

std::vector<std::pair<std::string, json>> pods() {
  json no_metadata = weft::test::minimal_pod();
  no_metadata.erase("metadata");
  json init_and_volumes = weft::test::minimal_pod();
  init_and_volumes["metadata"]["annotations"] = {{"team", "shop"}};
  init_and_volumes["spec"]["initContainers"] = {{{"name", "setup"}}};
  init_and_volumes["spec"]["volumes"] = {{{"name", "data"}, {"emptyDir", json::object()}}};
  json knobs = weft::test::minimal_pod();
  knobs["metadata"]["annotations"] = {{"config.weft.io/skip-inbound-ports", "22,9000-9010"},
                                      {"config.weft.io/skip-outbound-ports", "3306"},
                                      {"config.weft.io/skip-subnets", "10.1.2.0/24"},
                                      {"config.weft.io/opaque-ports", "5432,6379"},
                                      {"config.weft.io/proxy-cpu-request", "50m"},
                                      {"config.weft.io/proxy-cpu-limit", "2"},
                                      {"config.weft.io/proxy-memory-request", "32Mi"},
                                      {"config.weft.io/proxy-memory-limit", "1Gi"},
                                      {"config.weft.io/log-level", "debug"},
                                      {"config.weft.io/misspelt", "x"}};
  return {{"deployment", weft::test::deployment_review()["request"]["object"]},
          {"minimal", weft::test::minimal_pod()},
          {"no-metadata", no_metadata},
          {"init-and-volumes", init_and_volumes},
          {"knobs", knobs}};
}

std::vector<std::pair<std::string, InjectorConfig>> configs() {
  InjectorConfig unusual = weft::test::native_config();
  // Text that needs escaping, and cluster-wide exemptions.
  unusual.proxy_version = "v0.1.0 \"quoted\"\\\t\u00e9";
  unusual.skip_subnets = {weft::capture::Ipv4Subnet{0xA9FEA9FE, 32}};
  unusual.log_level = "warn";
  return {{"native", weft::test::native_config()},
          {"classic", weft::test::classic_config()},
          {"unusual", unusual}};
}

// What the API server gets for one pod and configuration.
json answer(const json& pod, const InjectorConfig& config) {
  const auto request = weft::test::request_of(weft::test::review_of(pod));
  const auto result = weft::webhook::Injector(config).mutate(request, Scope::kNamespaceEnabled);
  json entry{{"result", std::string(weft::webhook::to_string(result.result))},
             {"warnings", result.outcome.warnings}};
  if (!result.outcome.patch.empty()) {
    // Compact and in nlohmann's key order, as the webhook has always written it.
    const json patch = json::parse(result.outcome.patch);
    CHECK(result.outcome.patch == patch.dump());
    entry["patch"] = patch;
  }
  // The response carries exactly that patch, base64-encoded, and the warnings.
  const json response =
      json::parse(weft::webhook::admission_response(request.uid, result.outcome))["response"];
  CHECK(response["uid"] == request.uid);
  CHECK(response["allowed"] == true);
  CHECK(response.value("warnings", json::array()) == entry["warnings"]);
  if (!result.outcome.patch.empty()) {
    CHECK(response["patchType"] == "JSONPatch");
    CHECK(weft::base64_decode(response["patch"].get<std::string>()) == result.outcome.patch);
  }
  return entry;
}

}  // namespace

TEST_CASE("patches and responses are the expected ones for every pod shape and mode", "[golden]") {
  json answers = json::object();
  for (const auto& [pod_name, pod] : pods()) {
    for (const auto& [config_name, config] : configs()) {
      answers[pod_name + "/" + config_name] = answer(pod, config);
    }
  }
  if (std::getenv("WEFT_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(kGoldenFile) << answers.dump(2) << "\n";
    WARN("rewrote " << kGoldenFile);
  }
  const json expected = json::parse(weft::test::read_testdata("golden-patches.json"));
  REQUIRE(expected.size() == answers.size());
  for (const auto& [name, want] : expected.items()) {
    INFO(name);
    REQUIRE(answers.contains(name));
    const json& got = answers[name];
    CHECK(got["result"] == want["result"]);
    CHECK(got["warnings"] == want["warnings"]);
    CHECK(got.value("patch", json()).dump(2) == want.value("patch", json()).dump(2));
  }
}

TEST_CASE("denials and warnings are escaped in the response as JSON", "[golden]") {
  weft::webhook::AdmissionOutcome denied;
  denied.allowed = false;
  denied.denial_code = 400;
  denied.denial_message = "a \"quoted\" \\ \t\x01 \xc3\xa9 and a bad byte \xff";
  denied.warnings = {"w\n1", "\xe2\x82"};
  CHECK(weft::webhook::admission_response("u\"", denied) ==
        R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":)"
        R"({"allowed":false,"status":{"code":400,"message":"a \"quoted\" \\ \t\u0001 )"
        "\xc3\xa9"
        R"( and a bad byte )"
        "\xef\xbf\xbd"
        R"("},"uid":"u\"","warnings":["w\n1",")"
        "\xef\xbf\xbd"
        R"("]}})");
}
