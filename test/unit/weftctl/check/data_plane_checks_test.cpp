#include <catch2/catch.hpp>

#include "check_fixtures.h"
#include "weft/constants.h"
#include "weftctl/check/checks.h"
#include "weftctl/check/meshed_pod.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {
const std::string kConfig = "namespace shop has its proxy configuration";
const std::string kAnswer = "meshed pods' proxies answer /version";
const std::string kVersion = "proxies run the control plane's version";
const std::string kCurrent = "proxies serve their namespace's current configuration";
}  // namespace

TEST_CASE("data plane: the namespace's document and its proxies current") {
  const auto results = check_data_plane(healthy_facts());
  CHECK(healthy(results));
  CHECK(find_result(results, kConfig).detail == "100 of 1048576 bytes, sha256:aaa");
  CHECK(find_result(results, kAnswer).detail == "2 meshed pod(s)");
  CHECK(find_result(results, kVersion).name == kVersion + " (v0.1.0)");
}

TEST_CASE("data plane: a stale proxy fails and is named") {
  Facts facts = healthy_facts();
  facts.proxies[1].version = version_answer("v0.1.0", "sha256:old");
  const auto result = find_result(check_data_plane(facts), kCurrent);
  CHECK(result.status == Status::kFail);
  CHECK(result.detail ==
        "shop/web-2 serves sha256:old (the namespace's weft-proxy-config has another hash)");
  facts.proxies[1].version = version_answer("v0.1.0", nullptr);
  CHECK_THAT(find_result(check_data_plane(facts), kCurrent).detail,
             Catch::StartsWith("shop/web-2 serves no document"));
}

TEST_CASE("data plane: many stale proxies: ten named, the rest counted") {
  Facts facts = healthy_facts();
  facts.proxies.clear();
  facts.pods.body["items"] = nlohmann::json::array();
  for (int i = 0; i < 12; ++i) {
    const std::string name = "web-" + std::to_string(i);
    facts.pods.body["items"].push_back(meshed_pod("shop", name));
    facts.proxies.push_back({"shop", name, version_answer("v0.1.0", "sha256:old")});
  }
  CHECK_THAT(find_result(check_data_plane(facts), kCurrent).detail,
             Catch::Contains("; and 2 more"));
}

TEST_CASE("data plane: a proxy of another version warns") {
  Facts facts = healthy_facts();
  facts.proxies[0].version = version_answer("v0.0.9", "sha256:aaa");
  const auto results = check_data_plane(facts);
  CHECK(find_result(results, kVersion).status == Status::kWarn);
  CHECK(find_result(results, kVersion).detail == "shop/web-1 runs v0.0.9");
  CHECK(healthy(results));
}

TEST_CASE("data plane: a proxy that does not answer fails; one not running is counted") {
  Facts facts = healthy_facts();
  facts.proxies[0].version = answer_json(503, {{"kind", "Status"}, {"message", "no endpoints"}});
  facts.pods.body["items"].push_back(meshed_pod("shop", "web-3", "Pending"));
  auto result = find_result(check_data_plane(facts), kAnswer);
  CHECK(result.status == Status::kFail);
  CHECK(result.detail == "shop/web-1: HTTP 503: no endpoints");
  facts = healthy_facts();
  facts.pods.body["items"].push_back(meshed_pod("shop", "web-3", "Pending"));
  result = find_result(check_data_plane(facts), kAnswer);
  CHECK(result.status == Status::kOk);
  CHECK(result.detail == "3 meshed pod(s), 1 not running or terminating (not asked)");
}

TEST_CASE("data plane: a missing ConfigMap fails; the operator's limit is the limit") {
  Facts facts = healthy_facts();
  facts.proxy_config_maps["shop"] = kNotFound;
  auto result = find_result(check_data_plane(facts), kConfig);
  CHECK(result.status == Status::kFail);
  CHECK(result.detail == "ConfigMap weft-proxy-config: not found");
  CHECK_THAT(result.hint, Catch::Contains("weft-operator"));

  facts.proxy_config_maps["shop"] =
      answer_json(200, proxy_config_map("shop", "sha256:aaa", weft::kProxyConfigMaxBytes));
  CHECK(find_result(check_data_plane(facts), kConfig).status == Status::kOk);
  facts.proxy_config_maps["shop"] =
      answer_json(200, proxy_config_map("shop", "sha256:aaa", weft::kProxyConfigMaxBytes + 1));
  result = find_result(check_data_plane(facts), kConfig);
  CHECK(result.status == Status::kFail);
  CHECK(result.detail == "1048577 bytes, above the limit of 1048576");
}

TEST_CASE("data plane: a /version without configHash, or with values of other types, is stale") {
  Facts facts = healthy_facts();
  // Reading a missing key through a const operator[] was undefined behaviour.
  facts.proxies[1].version = answer_json(200, {{"version", "v0.1.0"}});
  auto results = check_data_plane(facts);
  CHECK_THAT(find_result(results, kCurrent).detail,
             Catch::StartsWith("shop/web-2 serves no document"));
  // A number where a string goes threw from json::value().
  facts.proxies[1].version = answer_json(200, {{"version", 7}, {"configHash", {1, 2}}});
  results = check_data_plane(facts);
  CHECK(find_result(results, kCurrent).status == Status::kFail);
  CHECK(find_result(results, kVersion).detail == "shop/web-2 runs ");
}

TEST_CASE("data plane: pods claiming injection the webhook did not review are apart") {
  Facts facts = healthy_facts();
  // The webhook never reviews the system namespaces: a claim there is unverified.
  facts.pods.body["items"].push_back(meshed_pod("kube-system", "fake-1"));
  facts.pods.body["items"].push_back(meshed_pod("weft-system", "fake-2"));
  // Everywhere else every claim is reviewed (both registrations' matchConditions),
  // opted out or not, in a meshed namespace or not.
  nlohmann::json opted_out = meshed_pod("shop", "sealed-3");
  opted_out["metadata"]["annotations"]["weft.io/inject"] = "disabled";
  facts.pods.body["items"].push_back(opted_out);
  facts.pods.body["items"].push_back(meshed_pod("elsewhere", "real-4"));
  facts.proxies.push_back({"shop", "sealed-3", version_answer("v0.1.0", "sha256:aaa")});
  facts.proxies.push_back({"elsewhere", "real-4", version_answer("v0.1.0", "sha256:aaa")});
  facts.proxy_config_maps["elsewhere"] =
      answer_json(200, proxy_config_map("elsewhere", "sha256:aaa"));
  const auto results = check_data_plane(facts);
  // Not counted as meshed, never judged as proxies: the mesh stays healthy.
  CHECK(find_result(results, kAnswer).detail == "4 meshed pod(s)");
  const auto unreviewed =
      find_result(results, "pods claiming injection were reviewed by the webhook");
  CHECK(unreviewed.status == Status::kWarn);
  CHECK_THAT(unreviewed.detail, Catch::StartsWith("kube-system/fake-1; weft-system/fake-2 ("));
  CHECK(healthy(results));
}

TEST_CASE("data plane: a pod opted in by annotation needs its namespace's document too") {
  Facts facts = healthy_facts();
  // Unlabelled namespace, a pod opted in: no ConfigMap, its proxy has no document.
  facts.pods.body["items"].push_back(meshed_pod("elsewhere", "hello-1"));
  facts.proxies.push_back({"elsewhere", "hello-1", version_answer("v0.1.0", nullptr)});
  facts.proxy_config_maps["elsewhere"] = Answer{404, nullptr, "not found"};
  const auto results = check_data_plane(facts);
  const auto config = find_result(results, "namespace elsewhere has its proxy configuration");
  CHECK(config.status == Status::kFail);
  CHECK_THAT(config.detail, Catch::Contains("not found"));
  CHECK_FALSE(healthy(results));
}

TEST_CASE("data plane: the admin port is the sealed variable's, never a declared port") {
  nlohmann::json pod = meshed_pod("shop", "web-1");
  auto& proxy = pod["spec"]["initContainers"][1];
  // A declared port is not sealed: its author may point it at the app.
  proxy["ports"] = {{{"name", "weft-admin"}, {"containerPort", 9999}}};
  CHECK(proxy_admin_port(pod) == 4191);
  proxy["env"] = {{{"name", "WEFT_PROXY_ADMIN_PORT"}, {"value", "4291"}}};
  CHECK(proxy_admin_port(pod) == 4291);
  for (const char* bad : {"", "0", "65536", "4191x", "-1", "999999"}) {
    proxy["env"] = {{{"name", "WEFT_PROXY_ADMIN_PORT"}, {"value", bad}}};
    CHECK(proxy_admin_port(pod) == 4191);
  }
  proxy["env"] = {{{"name", "WEFT_PROXY_ADMIN_PORT"}, {"value", 4291}}};
  CHECK(proxy_admin_port(pod) == 4191);
}
