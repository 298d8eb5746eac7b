#include "weftctl/check/gather.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "check_fixtures.h"
#include "fake_cluster_reader.h"
#include "weftctl/check/checks.h"

using namespace weft::ctl::check;
using namespace weft::ctl::check::testing;

namespace {

bool asked(const FakeClusterReader& reader, const std::string& path) {
  return std::find(reader.asked.begin(), reader.asked.end(), path) != reader.asked.end();
}

// The healthy facts as a cluster's answers.
FakeClusterReader healthy_cluster() {
  const Facts facts = healthy_facts();
  FakeClusterReader reader;
  auto& a = reader.answers;
  a["/version"] = facts.server_version;
  a["/api/v1/namespaces/weft-system"] = facts.control_plane_namespace;
  a["/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshroutes.weft.io"] =
      facts.crds.at("meshroutes.weft.io");
  a["/apis/apiextensions.k8s.io/v1/customresourcedefinitions/meshpolicies.weft.io"] =
      facts.crds.at("meshpolicies.weft.io");
  for (const auto& [name, answer] : facts.deployments) {
    a["/apis/apps/v1/namespaces/weft-system/deployments/" + name] = answer;
  }
  a["/api/v1/namespaces/weft-system/"
    "pods?labelSelector=app.kubernetes.io%2Fpart-of%3Dweft&limit=500"] = facts.control_plane_pods;
  a["/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/weft-webhook"] =
      facts.webhook_configuration;
  a["/api/v1/namespaces/weft-system/secrets/weft-webhook-tls"] = facts.webhook_secret;
  a["/api/v1/namespaces/weft-system/configmaps/weft-identity-trust-anchors"] = facts.trust_anchors;
  a["/api/v1/namespaces/weft-system/secrets/weft-identity-issuer"] = facts.issuer_secret;
  a["/api/v1/namespaces?labelSelector=weft.io%2Finject%3Denabled&limit=500"] =
      facts.meshed_namespaces;
  a["/api/v1/namespaces/shop/configmaps/weft-proxy-config"] = facts.proxy_config_maps.at("shop");
  // Two pages of pods.
  nlohmann::json first = facts.pods.body;
  first["items"] = nlohmann::json::array({facts.pods.body["items"][0]});
  first["metadata"]["continue"] = "page2";
  nlohmann::json second = facts.pods.body;
  second["items"].erase(0);
  a["/api/v1/pods?limit=500"] = answer_json(200, first);
  a["/api/v1/pods?limit=500&continue=page2"] = answer_json(200, second);
  for (const auto& probe : facts.proxies) {
    a["/api/v1/namespaces/shop/pods/" + probe.pod + ":4191/proxy/version"] = probe.version;
  }
  return reader;
}

}  // namespace

TEST_CASE("gather: what a healthy cluster answers makes healthy facts") {
  FakeClusterReader reader = healthy_cluster();
  const auto now = certificates().made;
  const Facts facts = gather_facts(reader, Mode::kInstalled, now);
  CHECK(facts.now == now);
  CHECK(facts.pods.body["items"].size() == 3);  // both pages
  REQUIRE(facts.proxies.size() == 2);
  CHECK(facts.proxies[0].version.body["configHash"] == "sha256:aaa");
  const auto results = run_checks(facts, {});
  for (const auto& result : results) {
    INFO(result.name << ": " << result.detail);
    CHECK(result.status == Status::kOk);
  }
  // Proxies are reached through the API server's pod proxy, never their IPs.
  CHECK(asked(reader, "/api/v1/namespaces/shop/pods/web-1:4191/proxy/version"));
  CHECK(reader.posted.empty());
}

TEST_CASE("gather: a terminating pod is not asked") {
  FakeClusterReader reader = healthy_cluster();
  nlohmann::json pods = healthy_facts().pods.body;
  pods["items"][0]["metadata"]["deletionTimestamp"] = "2026-12-04T22:00:00Z";
  reader.answers["/api/v1/pods?limit=500"] = answer_json(200, pods);
  const Facts facts = gather_facts(reader, Mode::kInstalled, certificates().made);
  REQUIRE(facts.proxies.size() == 1);
  CHECK(facts.proxies[0].pod == "web-2");
}

TEST_CASE("gather: a pod not running is not asked; the admin port is the sealed one") {
  FakeClusterReader reader = healthy_cluster();
  nlohmann::json pods = healthy_facts().pods.body;
  pods["items"][0]["status"]["phase"] = "Pending";
  auto& proxy = pods["items"][1]["spec"]["initContainers"][1];
  proxy["env"] = {{{"name", "WEFT_PROXY_ADMIN_PORT"}, {"value", "9991"}}};
  // A declared port is not sealed: never asked.
  proxy["ports"][0]["containerPort"] = 9999;
  reader.answers["/api/v1/pods?limit=500"] = answer_json(200, pods);
  const Facts facts = gather_facts(reader, Mode::kInstalled, certificates().made);
  REQUIRE(facts.proxies.size() == 1);
  CHECK(facts.proxies[0].pod == "web-2");
  CHECK(asked(reader, "/api/v1/namespaces/shop/pods/web-2:9991/proxy/version"));
  CHECK_FALSE(asked(reader, "/api/v1/namespaces/shop/pods/web-2:9999/proxy/version"));
  CHECK_FALSE(asked(reader, "/api/v1/namespaces/shop/pods/web-1:4191/proxy/version"));
}

TEST_CASE("gather: an unreachable API server stops after /version") {
  FakeClusterReader reader;
  reader.answers["/version"] = Answer{0, nullptr, "connection refused"};
  const Facts facts = gather_facts(reader, Mode::kInstalled, {});
  CHECK(reader.asked == std::vector<std::string>{"/version"});
  CHECK(facts.server_version.describe() == "connection refused");
}

TEST_CASE("gather: --pre asks SelfSubjectAccessReviews and reads nothing of an install") {
  FakeClusterReader reader = healthy_cluster();
  const Facts facts = gather_facts(reader, Mode::kPreInstall, {});
  REQUIRE_FALSE(facts.access.empty());
  CHECK(facts.access.size() == reader.posted.size());
  CHECK(reader.posted[0]["kind"] == "SelfSubjectAccessReview");
  CHECK(reader.posted[0]["spec"]["resourceAttributes"] ==
        nlohmann::json{{"verb", "create"},
                       {"group", "apiextensions.k8s.io"},
                       {"resource", "customresourcedefinitions"}});
  CHECK(std::none_of(reader.asked.begin(), reader.asked.end(), [](const std::string& path) {
    return path.find("/secrets/") != std::string::npos;
  }));
}

TEST_CASE("gather: a pod claiming injection outside the webhook's review is not asked") {
  FakeClusterReader reader = healthy_cluster();
  nlohmann::json pods = healthy_facts().pods.body;
  // The system namespaces are never reviewed: nothing verified these seals.
  pods["items"][0]["metadata"]["namespace"] = "kube-system";
  pods["items"][1]["metadata"]["namespace"] = "weft-system";
  reader.answers["/api/v1/pods?limit=500"] = answer_json(200, pods);
  const Facts facts = gather_facts(reader, Mode::kInstalled, certificates().made);
  CHECK(facts.proxies.empty());
  CHECK_FALSE(asked(reader, "/api/v1/namespaces/kube-system/pods/web-1:4191/proxy/version"));
  CHECK_FALSE(asked(reader, "/api/v1/namespaces/weft-system/pods/web-2:4191/proxy/version"));
}

TEST_CASE("gather: every other claim was reviewed (both registrations send claims)") {
  FakeClusterReader reader = healthy_cluster();
  nlohmann::json pods = healthy_facts().pods.body;
  pods["items"][0]["metadata"]["annotations"]["weft.io/inject"] = "disabled";
  pods["items"][1]["metadata"]["namespace"] = "elsewhere";
  reader.answers["/api/v1/pods?limit=500"] = answer_json(200, pods);
  const Facts facts = gather_facts(reader, Mode::kInstalled, certificates().made);
  CHECK(asked(reader, "/api/v1/namespaces/shop/pods/web-1:4191/proxy/version"));
  CHECK(asked(reader, "/api/v1/namespaces/elsewhere/pods/web-2:4191/proxy/version"));
}

namespace {

// Answers every pod after a pause, counting how many it answers at once.
class SlowPods : public FakeClusterReader {
 public:
  Answer probe_pod(const std::string& path) override {
    const int now = ++running_;
    int seen = most_;
    while (now > seen && !most_.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    --running_;
    return get(path);
  }
  int most() const { return most_; }

 private:
  std::atomic<int> running_{0};
  std::atomic<int> most_{0};
};

}  // namespace

TEST_CASE("gather: pods are asked a few at once, each answer in its place") {
  SlowPods reader;
  static_cast<FakeClusterReader&>(reader) = healthy_cluster();
  nlohmann::json pods = healthy_facts().pods.body;
  pods["items"] = nlohmann::json::array();
  for (int i = 0; i < 20; ++i) {
    const std::string name = "web-" + std::to_string(i);
    pods["items"].push_back(meshed_pod("shop", name));
    reader.answers["/api/v1/namespaces/shop/pods/" + name + ":4191/proxy/version"] =
        version_answer("v0.1.0", name);
  }
  reader.answers["/api/v1/pods?limit=500"] = answer_json(200, pods);
  const Facts facts = gather_facts(reader, Mode::kInstalled, certificates().made);
  REQUIRE(facts.proxies.size() == 20);
  for (int i = 0; i < 20; ++i) {
    CHECK(facts.proxies[i].pod == "web-" + std::to_string(i));
    CHECK(facts.proxies[i].version.body["configHash"] == "web-" + std::to_string(i));
  }
  CHECK(reader.most() > 1);
  CHECK(reader.most() <= 8);
}
