#include "weftctl/diagnose/diagnose_command.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "stat/fake_cluster.h"
#include "weft/proxyconfig/serialize.h"
#include "weftctl/diagnose/endpoints_view.h"
#include "weftctl/diagnose/policy_view.h"

using namespace weft::ctl;
using weft::ctl::stat::testing::FakeCluster;
using weft::ctl::stat::testing::pod_object;
namespace pc = weft::proxyconfig;

namespace {

struct Ran {
  int status = 0;
  std::string out;
  std::string err;
};

Ran run(FakeCluster& cluster, const std::vector<std::string>& args,
        Output output = Output::kTable) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  GlobalOptions options;
  options.namespace_name = "shop";
  options.output = output;
  Context context{.options = options, .in = in, .out = out, .err = err, .client = {}};
  Ran ran;
  ran.status = diagnose::run_diagnose(context, cluster, args);
  ran.out = out.str();
  ran.err = err.str();
  return ran;
}

pc::ServicePort port_of(std::uint16_t number, std::vector<pc::Endpoint> endpoints) {
  pc::ServicePort port;
  port.port = number;
  port.endpoints = std::move(endpoints);
  return port;
}

// shop: backend:8080 split 90/10 over backend-v1 (two meshed endpoints) and
// backend-v2 (one plaintext endpoint); web:80 plain; a MeshPolicy on web's
// 8080 that allows only shop/load, in Strict mTLS.
pc::Document shop_document() {
  pc::Document document;
  document.ns = "shop";
  // (parse() checks the anchors' shape only; the proxy parses them.)
  document.identity = pc::IdentityConfig{"cluster.local",
                                         "-----BEGIN CERTIFICATE-----\nMIIB\n"
                                         "-----END CERTIFICATE-----\n"};
  const std::string v1_identity = "spiffe://cluster.local/ns/shop/sa/backend";
  pc::ServicePort split =
      port_of(8080, {{"10.0.0.1", 8080, "backend", "backend-v1-a", "z1", v1_identity},
                     {"10.0.0.2", 8080, "backend", "backend-v1-b", "z2", v1_identity},
                     {"10.0.0.3", 8080, "", "backend-v2-a", "", ""}});
  pc::Rule rule;
  rule.route = "backend-split";
  rule.backends = {{"backend-v1", 8080, 90}, {"backend-v2", 8080, 10}};
  split.rules = {rule};
  split.matches = {pc::RouteMatch{}};
  split.circuit_breaker = pc::CircuitBreaker{};
  document.outbound.services = {
      {"backend", {"10.96.0.20"}, {split}},
      {"backend-v1",
       {"10.96.0.21"},
       {port_of(8080, {{"10.0.0.1", 8080, "backend", "backend-v1-a", "z1", v1_identity},
                       {"10.0.0.2", 8080, "backend", "backend-v1-b", "z2", v1_identity}})}},
      {"backend-v2",
       {"10.96.0.22"},
       {port_of(8080, {{"10.0.0.3", 8080, "", "backend-v2-a", "", ""}})}},
      {"web", {"10.96.0.10"}, {port_of(80, {{"10.0.0.9", 8080, "web", "web-1", "", ""}})}},
  };
  pc::InboundPolicy policy;
  policy.name = "web-from-load";
  policy.pod_selector.match_labels = {{"app", "web"}};
  policy.ports = {8080};
  policy.mtls = pc::MtlsMode::kStrict;
  pc::Authorization authorization;
  authorization.rules = {pc::AuthorizationRule{
      .identities = {{"shop", "load"}}, .cidrs = {}, .paths = {}, .methods = {}}};
  policy.authorization = authorization;
  document.inbound.policies = {policy};
  document.inbound.default_policy = pc::DefaultInboundPolicy::kAllUnauthenticated;
  return document;
}

FakeCluster shop(const std::string& annotation_hash = "") {
  FakeCluster cluster;
  const auto serialized = pc::serialize(shop_document());
  nlohmann::json config_map = {{"metadata", {{"namespace", "shop"}, {"name", "weft-proxy-config"}}},
                               {"data", {{"config.json", serialized.text}}}};
  config_map["metadata"]["annotations"]["weft.io/config-hash"] =
      annotation_hash.empty() ? serialized.hash : annotation_hash;
  cluster.objects["configmaps"] = {config_map};
  auto web = pod_object("shop", "web-1", {{"app", "web"}});
  web["spec"]["containers"][0]["ports"] = {{{"containerPort", 8080}}, {{"containerPort", 9090}}};
  cluster.objects["pods"] = {web, pod_object("shop", "plain-1", {{"app", "plain"}}, false)};
  cluster.pages_before["shop/web-1:4191/version"] =
      R"({"version":"v0.1.0","configHash":")" + serialized.hash + "\"}\n";
  return cluster;
}

}  // namespace

TEST_CASE("diagnose config: the proxy serves its ConfigMap's document") {
  FakeCluster cluster = shop();
  const Ran ran = run(cluster, {"config", "web-1"});
  CHECK(ran.status == 0);
  CHECK(ran.out.find("pod shop/web-1: proxy v0.1.0") != std::string::npos);
  CHECK(ran.out.find("\u2713 it is the ConfigMap's document") != std::string::npos);
  CHECK(ran.out.find("\"outbound\"") == std::string::npos);  // the document only on request
  CHECK(run(cluster, {"config", "web-1", "--document"}).out.find("\"outbound\"") !=
        std::string::npos);

  const Ran json = run(cluster, {"config", "web-1"}, Output::kJson);
  const auto value = nlohmann::json::parse(json.out);
  CHECK(value["matches"] == true);
  CHECK(value["servedHash"] == value["configMapHash"]);
  CHECK(value["document"]["namespace"] == "shop");
}

TEST_CASE("diagnose config: a stale proxy exits 1; an unreadable ConfigMap is said so") {
  FakeCluster stale = shop("sha256:" + std::string(64, 'a'));
  const Ran ran = run(stale, {"config", "web-1"});
  CHECK(ran.status == 1);
  CHECK(ran.out.find("\u00d7 the ConfigMap weft-proxy-config holds sha256:aaaa") !=
        std::string::npos);

  FakeCluster hidden = shop();
  hidden.forbidden = {"configmaps/shop/weft-proxy-config"};
  const Ran forbidden = run(hidden, {"config", "web-1"});
  CHECK(forbidden.status == 1);
  CHECK(forbidden.out.find("you may not read it (RBAC)") != std::string::npos);

  FakeCluster down = shop();
  down.pages_before.clear();
  const Ran unreachable = run(down, {"config", "web-1"});
  CHECK(unreachable.status == 1);
  CHECK(unreachable.err.find("the proxy's /version could not be read") != std::string::npos);
  CHECK(run(down, {"config", "plain-1"}).err.find("is not meshed") != std::string::npos);
  CHECK(run(down, {"config", "nope"}).status == 1);
}

TEST_CASE("diagnose endpoints: each backend by weight, each endpoint's identity and share") {
  auto views = diagnose::endpoints_view(shop_document(), "backend");
  REQUIRE(views.has_value());
  REQUIRE(views->size() == 1);
  const auto& backends = views->front().backends;
  REQUIRE(backends.size() == 2);
  CHECK(backends[0].service == "backend-v1:8080");
  CHECK(backends[0].weight_share == Approx(0.9));
  REQUIRE(backends[0].endpoints.size() == 2);
  CHECK(backends[0].endpoints[0].share == Approx(0.45));
  CHECK(backends[0].endpoints[0].identity == "spiffe://cluster.local/ns/shop/sa/backend");
  CHECK(backends[1].endpoints[0].share == Approx(0.1));
  CHECK(backends[1].endpoints[0].identity.empty());

  auto plain = diagnose::endpoints_view(shop_document(), "web:80");
  REQUIRE(plain.has_value());
  CHECK(plain->front().backends.front().route.empty());
  CHECK(plain->front().backends.front().load_balancer == "PeakEWMA");
  CHECK(plain->front().backends.front().endpoints.front().share == 1.0);

  CHECK(diagnose::endpoints_view(shop_document(), "web:81").error().message ==
        "Service web has no port 81 in the document of namespace shop");
  CHECK(diagnose::endpoints_view(shop_document(), "nope")
            .error()
            .message.rfind("the document of namespace shop has no Service nope", 0) == 0);
  CHECK(diagnose::endpoints_view(shop_document(), "web:x").error().message ==
        "\"web:x\" is not SERVICE or SERVICE:PORT");

  FakeCluster cluster = shop();
  const Ran ran = run(cluster, {"endpoints", "backend:8080"});
  CHECK(ran.status == 0);
  CHECK(ran.out ==
        "shop/backend:8080 route backend-split rule 0 -> backend-v1:8080 weight 90 (90.00%): "
        "PeakEWMA, circuit breaker none\n"
        "  ENDPOINT       POD           ZONE  IDENTITY                                   SHARE\n"
        "  10.0.0.1:8080  backend-v1-a  z1    spiffe://cluster.local/ns/shop/sa/backend  45.00%\n"
        "  10.0.0.2:8080  backend-v1-b  z2    spiffe://cluster.local/ns/shop/sa/backend  45.00%\n"
        "shop/backend:8080 route backend-split rule 0 -> backend-v2:8080 weight 10 (10.00%): "
        "PeakEWMA, circuit breaker none\n"
        "  ENDPOINT       POD           ZONE  IDENTITY       SHARE\n"
        "  10.0.0.3:8080  backend-v2-a  -     - (plaintext)  10.00%\n");
  const auto json =
      nlohmann::json::parse(run(cluster, {"endpoints", "backend"}, Output::kJson).out);
  CHECK(json[0]["backends"][0]["endpoints"][0]["meshed"] == true);
}

TEST_CASE("diagnose policy: per port, what the proxy's own code decides") {
  const auto document = shop_document();
  const auto view = diagnose::policy_view(document, "web-1", {{"app", "web"}}, {9090},
                                          diagnose::typical_clients(document));
  REQUIRE(view.ports.size() == 2);  // 9090 declared, 8080 named by the policy
  const auto& guarded = view.ports[0];
  CHECK(guarded.port == 8080);
  CHECK(guarded.mtls == "Strict");
  REQUIRE(guarded.policies.size() == 1);
  CHECK(guarded.policies[0].first == "web-from-load");
  CHECK(guarded.policies[0].second == "mtls authorization");
  REQUIRE(guarded.decisions.size() == 3);
  for (const auto& decision : guarded.decisions) {
    CHECK_FALSE(decision.allowed);
    CHECK(decision.policy == "web-from-load");
    CHECK(decision.rule == "default-action");
  }
  const auto& open = view.ports[1];
  CHECK(open.port == 9090);
  CHECK(open.mtls == "Permissive");
  CHECK(open.policies.empty());
  CHECK(open.decisions[2].allowed);  // plaintext, by the default all-unauthenticated
  CHECK(open.decisions[2].policy == "default:all-unauthenticated");

  FakeCluster cluster = shop();
  const Ran allowed = run(cluster, {"policy", "web-1", "--from-identity", "shop/load", "--path",
                                    "/a/../b", "--method", "POST"});
  CHECK(allowed.status == 0);
  CHECK(allowed.out.find("port 8080: mTLS Strict, rate limit none") != std::string::npos);
  CHECK(allowed.out.find("\u2713  the client given spiffe://cluster.local/ns/shop/sa/load  POST "
                         "/a/../b  web-from-load rule-0") != std::string::npos);
  const Ran refused_path = run(cluster, {"policy", "web-1", "--path", "/a%2fb"}, Output::kJson);
  const auto json = nlohmann::json::parse(refused_path.out);
  CHECK(json["ports"][0]["decisions"][0]["reason"].get<std::string>().rfind("the proxy answers 400",
                                                                            0) == 0);
  CHECK(run(cluster, {"policy", "web-1", "--from-identity", "load"}).status == 2);
}

TEST_CASE("diagnose: usage errors exit 2") {
  FakeCluster cluster = shop();
  CHECK(run(cluster, {}).status == 2);
  CHECK(run(cluster, {"config"}).status == 2);
  CHECK(run(cluster, {"nothing", "x"}).status == 2);
  CHECK(run(cluster, {"policy", "web-1", "--from-address", "not-an-ip"}).status == 2);
  // kubectl's KIND/NAME: the kind the command takes is accepted, another is a usage error.
  CHECK(run(cluster, {"config", "pod/web-1"}).status == 0);
  const Ran deploy = run(cluster, {"config", "deploy/web"});
  CHECK(deploy.status == 2);
  CHECK(deploy.err.find("config takes a pod's name (or pod/NAME), not deploy/web") !=
        std::string::npos);
  CHECK(run(cluster, {"endpoints", "pod/web-1"}).status == 2);
  CHECK(run(cluster, {"--help"}).out.find("endpoints SERVICE[:PORT]") != std::string::npos);
}

TEST_CASE("diagnose config: what the pod answers is printed terminal-safe") {
  FakeCluster cluster = shop();
  cluster.pages_before["shop/web-1:4191/version"] =
      R"({"version":"v1\u001b[2J\u001b]52;c;aGk=\u0007","configHash":"sha256:\u001b[8m"})";
  const Ran ran = run(cluster, {"config", "web-1"});
  CHECK(ran.status == 1);
  CHECK(ran.out.find('\x1b') == std::string::npos);
  CHECK(ran.out.find("pod shop/web-1: proxy v1\\x1B[2J\\x1B]52;c;aGk=\\x07\n") !=
        std::string::npos);
  CHECK(ran.out.find("serves document sha256:\\x1B[8m") != std::string::npos);
}
