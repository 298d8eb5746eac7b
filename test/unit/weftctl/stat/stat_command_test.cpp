#include "weftctl/stat/stat_command.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "stat/fake_cluster.h"
#include "weft/proxyconfig/serialize.h"

using namespace weft::ctl;
using weft::ctl::stat::testing::deployment_object;
using weft::ctl::stat::testing::FakeCluster;
using weft::ctl::stat::testing::pod_object;
using weft::ctl::stat::testing::service_object;

namespace {

std::string testdata(const std::string& name) {
  std::ifstream in(std::string(WEFTCTL_TESTDATA) + "/stat/" + name);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Ran {
  int status = 0;
  std::string out;
  std::string err;
};

Ran run(FakeCluster& cluster, const std::vector<std::string>& args, GlobalOptions options = {},
        bool err_is_terminal = false) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  if (options.namespace_name.empty() && !options.all_namespaces) options.namespace_name = "shop";
  Context context{.options = options,
                  .in = in,
                  .out = out,
                  .err = err,
                  .client = {},
                  .err_is_terminal = err_is_terminal};
  Ran ran;
  ran.status = stat::run_stat(context, cluster, args);
  ran.out = out.str();
  ran.err = err.str();
  return ran;
}

// shop: deployment web (web-1 answers the fixture pages, web-2's proxy does
// not answer), deployment api (one meshed pod with no traffic, one unmeshed),
// and a pod of no deployment.
FakeCluster shop() {
  FakeCluster cluster;
  cluster.objects["pods"] = {
      pod_object("shop", "web-1", {{"app", "web"}}),
      pod_object("shop", "web-2", {{"app", "web"}}, true, 4191),
      pod_object("shop", "api-1", {{"app", "api"}}, true, 5191),
      pod_object("shop", "api-2", {{"app", "api"}}, false),
      pod_object("shop", "load-1", {{"app", "load"}}),
      pod_object("other", "web-9", {{"app", "web"}}),
  };
  cluster.objects["deployments"] = {deployment_object("shop", "web", {{"app", "web"}}),
                                    deployment_object("shop", "api", {{"app", "api"}}),
                                    deployment_object("other", "web", {{"app", "web"}})};
  cluster.objects["services"] = {service_object("shop", "web", {{"app", "web"}}),
                                 service_object("shop", "api", {{"app", "api"}})};
  cluster.pages_before["shop/web-1:4191/metrics"] = testdata("proxy-metrics-before.txt");
  cluster.pages_after["shop/web-1:4191/metrics"] = testdata("proxy-metrics-after.txt");
  const std::string quiet = "# TYPE request_total counter\n";
  cluster.pages_before["shop/api-1:5191/metrics"] = quiet;
  cluster.pages_after["shop/api-1:5191/metrics"] = quiet;
  return cluster;
}

}  // namespace

TEST_CASE("stat deploy: a row per deployment, from its pods' inbound traffic") {
  FakeCluster cluster = shop();
  const Ran ran = run(cluster, {"deploy", "--window", "10s"});
  CHECK(ran.status == 0);
  CHECK(cluster.waited == std::chrono::seconds(10));
  // (The other namespace's pod is never scraped; the admin port comes from the pod spec.)
  CHECK(cluster.requests ==
        std::vector<std::string>{"shop/web-1:4191/metrics", "shop/web-2:4191/metrics",
                                 "shop/api-1:5191/metrics", "shop/web-1:4191/metrics",
                                 "shop/web-2:4191/metrics", "shop/api-1:5191/metrics"});
  CHECK(ran.out ==
        "NAME  MESHED  SUCCESS  RPS   LATENCY_P50  LATENCY_P95  LATENCY_P99  TCP_CONN  MTLS\n"
        "web   2/2     90.91%   11.0  9.5ms        44.5ms       48.9ms       3         90.91%\n"
        "api   1/2     -        0.0   -            -            -            0         -\n");
  // The pod whose proxy did not answer is named, not silently dropped.
  CHECK(ran.err.find("warning: pod shop/web-2: its proxy's /metrics could not be read") !=
        std::string::npos);
  // What it waits for is said before the window on a terminal's stderr, and only there.
  CHECK(ran.err.find("measuring") == std::string::npos);
  FakeCluster again = shop();
  const Ran on_terminal = run(again, {"deploy", "--window", "10s"}, {}, true);
  CHECK(on_terminal.err.rfind("measuring 3 proxies over 10s...\n", 0) == 0);
  CHECK(on_terminal.out == ran.out);
}

TEST_CASE("stat deploy: a made-up weft-proxy is neither counted nor scraped") {
  FakeCluster cluster = shop();
  // Its author's own container named weft-proxy, no seal: never verified by the webhook.
  nlohmann::json fake = pod_object("shop", "fake-1", {{"app", "web"}}, true, 9999);
  fake["metadata"].erase("annotations");
  cluster.objects["pods"].push_back(fake);
  // A sealed proxy whose declared admin port was changed: scraped at the sealed port.
  nlohmann::json renamed = pod_object("shop", "web-3", {{"app", "web"}}, true, 4191);
  renamed["spec"]["initContainers"][1]["ports"][0]["containerPort"] = 9999;
  cluster.objects["pods"].push_back(renamed);
  const Ran ran = run(cluster, {"deploy", "web", "--window", "10s"});
  CHECK(ran.out.find("web   3/4") != std::string::npos);
  for (const auto& request : cluster.requests) {
    CHECK(request.find("fake-1") == std::string::npos);
    CHECK(request.find(":9999") == std::string::npos);
  }
  CHECK(std::find(cluster.requests.begin(), cluster.requests.end(), "shop/web-3:4191/metrics") !=
        cluster.requests.end());
}

TEST_CASE("stat: a finished pod (a Job's) is neither counted nor warned about") {
  FakeCluster cluster = shop();
  cluster.objects["pods"].push_back(
      pod_object("shop", "load-job-1", {{"app", "web"}}, true, 4191, "Succeeded"));
  const Ran ran = run(cluster, {"deploy", "web", "--window", "10s"});
  CHECK(ran.out.find("web   2/2") != std::string::npos);
  CHECK(ran.err.find("load-job-1") == std::string::npos);
}

TEST_CASE("stat deploy NAME -o json: null for what no traffic can tell") {
  FakeCluster cluster = shop();
  GlobalOptions options;
  options.namespace_name = "shop";
  options.output = Output::kJson;
  const Ran ran = run(cluster, {"deploy/api"}, options);
  REQUIRE(ran.status == 0);
  const auto json = nlohmann::json::parse(ran.out);
  CHECK(json["windowSeconds"] == 30.0);
  REQUIRE(json["rows"].size() == 1);
  const auto& row = json["rows"][0];
  CHECK(row["name"] == "api");
  CHECK(row["pods"] == 2);
  CHECK(row["meshedPods"] == 1);
  CHECK(row["requests"] == 0);
  CHECK(row["successRate"].is_null());
  CHECK(row["latencyMs"]["p99"].is_null());
  CHECK(row["mtlsShare"].is_null());
  CHECK(json["warnings"].empty());
}

TEST_CASE("stat pod and stat ns; JSON carries the identities and the warnings") {
  FakeCluster cluster = shop();
  GlobalOptions options;
  options.namespace_name = "shop";
  options.output = Output::kJson;
  const Ran pods = run(cluster, {"pod", "web-1", "--window", "10s"}, options);
  REQUIRE(pods.status == 0);
  const auto json = nlohmann::json::parse(pods.out);
  REQUIRE(json["rows"].size() == 1);
  CHECK(json["rows"][0]["requests"] == 110);
  CHECK(json["rows"][0]["successes"] == 100);
  CHECK(json["rows"][0]["identities"] ==
        nlohmann::json::array({"spiffe://cluster.local/ns/shop/sa/load"}));

  FakeCluster again = shop();
  const Ran ns = run(again, {"ns", "--window", "10s"});
  CHECK(ns.status == 0);
  CHECK(ns.out.find("shop  4/5     90.91%   11.0") != std::string::npos);
  CHECK(ns.err.find("pod shop/web-2") != std::string::npos);
}

TEST_CASE("stat -A: a namespace column, every namespace's pods") {
  FakeCluster cluster = shop();
  GlobalOptions options;
  options.all_namespaces = true;
  const Ran ran = run(cluster, {"deploy", "--window", "10s"}, options);
  CHECK(ran.status == 0);
  CHECK(ran.out.rfind("NAMESPACE  NAME  MESHED", 0) == 0);
  CHECK(ran.out.find("other      web   1/1") != std::string::npos);
  CHECK(ran.err.find("pod other/web-9") != std::string::npos);
}

TEST_CASE("stat deploy --to svc/api: each deployment's outbound traffic to api") {
  FakeCluster cluster = shop();
  GlobalOptions options;
  options.namespace_name = "shop";
  options.output = Output::kJson;
  const Ran ran = run(cluster, {"deploy", "web", "--to", "svc/api", "--window", "10s"}, options);
  REQUIRE(ran.status == 0);
  const auto json = nlohmann::json::parse(ran.out);
  REQUIRE(json["rows"].size() == 1);
  CHECK(json["rows"][0]["requests"] == 40);  // the fixture's outbound api:8080, 40 -> 80
  CHECK(json["rows"][0]["successRate"] == 1.0);
  CHECK(json["rows"][0]["mtlsShare"] == 0.0);

  // --from deploy/web: what api got from web, read from web's pods.
  FakeCluster from = shop();
  const Ran got = run(from, {"deploy", "api", "--from", "deploy/web", "--window", "10s"}, options);
  REQUIRE(got.status == 0);
  const auto rows = nlohmann::json::parse(got.out)["rows"];
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["requests"] == 40);
}

TEST_CASE("stat route: each route and backend, the weights from the document") {
  namespace pc = weft::proxyconfig;
  pc::Document document;
  document.ns = "shop";
  pc::Service backend{.name = "backend", .cluster_ips = {"10.96.0.20"}, .ports = {}};
  pc::ServicePort port;
  port.port = 8080;
  pc::Rule rule;
  rule.route = "backend-split";
  rule.route_rule = 0;
  rule.backends = {{"backend-v1", 8080, 90}, {"backend-v2", 8080, 10}};
  port.rules = {rule};
  port.matches = {pc::RouteMatch{}};
  backend.ports = {port};
  for (const char* name : {"backend-v1", "backend-v2"}) {
    pc::Service version{.name = name, .cluster_ips = {}, .ports = {}};
    pc::ServicePort version_port;
    version_port.port = 8080;
    version.ports = {version_port};
    document.outbound.services.push_back(version);
  }
  document.outbound.services.insert(document.outbound.services.begin(), backend);
  const auto serialized = pc::serialize(document);

  FakeCluster cluster = shop();
  cluster.objects["configmaps"] = {
      {{"metadata", {{"namespace", "shop"}, {"name", "weft-proxy-config"}}},
       {"data", {{"config.json", serialized.text}}}}};
  // load-1 calls backend through the route; its proxy labels each request
  // with the rule and the backend it chose.
  const auto page = [](int v1, int v2, int v2_failures) {
    std::string text;
    const std::string base =
        "direction=\"outbound\",target_service=\"backend:8080\",route=\"backend-split\","
        "tls=\"no_identity\",no_tls_reason=\"not_provided_by_service_discovery\",client_id=\"\","
        "server_id=\"\",route_rule=\"0\",backend=\"";
    text += "response_total{" + base + "backend-v1:8080\",status_code=\"200\"," +
            "classification=\"success\"} " + std::to_string(v1) + "\n";
    text += "response_total{" + base + "backend-v2:8080\",status_code=\"200\"," +
            "classification=\"success\"} " + std::to_string(v2) + "\n";
    text += "response_total{" + base + "backend-v2:8080\",status_code=\"500\"," +
            "classification=\"failure\"} " + std::to_string(v2_failures) + "\n";
    return text;
  };
  cluster.pages_before["shop/load-1:4191/metrics"] = page(0, 0, 0);
  cluster.pages_after["shop/load-1:4191/metrics"] = page(180, 16, 4);
  const Ran ran = run(cluster, {"route", "--window", "10s"});
  CHECK(ran.status == 0);
  CHECK(ran.out ==
        "SERVICE       ROUTE          RULE  BACKEND          WEIGHT       SUCCESS  RPS   "
        "LATENCY_P50  LATENCY_P95  LATENCY_P99  MTLS\n"
        "backend:8080  backend-split        [all]                         98.00%   20.0  -     "
        "       -            -            0.00%\n"
        "backend:8080                 0     backend-v1:8080  90 (90.00%)  100.00%  18.0  -     "
        "       -            -            0.00%\n"
        "backend:8080                 0     backend-v2:8080  10 (10.00%)  80.00%   2.0   -     "
        "       -            -            0.00%\n");

  // Without the ConfigMap (not readable), the routes with traffic still show.
  FakeCluster hidden = shop();
  hidden.forbidden = {"configmaps/shop/weft-proxy-config"};
  hidden.pages_before["shop/load-1:4191/metrics"] = page(0, 0, 0);
  hidden.pages_after["shop/load-1:4191/metrics"] = page(180, 16, 4);
  const Ran partial = run(hidden, {"route", "--window", "10s"});
  CHECK(partial.status == 0);
  CHECK(partial.out.find("backend-v2:8080  ") != std::string::npos);
  CHECK(partial.err.find("you may not read the ConfigMap weft-proxy-config of namespace shop") !=
        std::string::npos);
}

TEST_CASE("usage errors exit 2 and name the problem; a missing resource exits 1") {
  FakeCluster cluster = shop();
  CHECK(run(cluster, {}).status == 2);
  CHECK(run(cluster, {"svc"}).err.find("is not a kind stat reads") != std::string::npos);
  CHECK(run(cluster, {"deploy", "a", "b"}).status == 2);
  CHECK(run(cluster, {"deploy", "--window", "0"}).status == 2);
  CHECK(run(cluster, {"deploy", "--to", "web"}).err.find("--to: \"web\" is not KIND/NAME") !=
        std::string::npos);
  GlobalOptions all;
  all.all_namespaces = true;
  CHECK(run(cluster, {"deploy", "web"}, all).status == 2);
  const Ran missing = run(cluster, {"deploy", "nope"});
  CHECK(missing.status == 1);
  CHECK(missing.err == "weftctl stat: deployment nope not found in namespace shop\n");
  CHECK(cluster.requests.empty());
  const Ran help = run(cluster, {"--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("--window DURATION") != std::string::npos);
}
