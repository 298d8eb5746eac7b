// The pure reconcile: cached objects of a namespace (parsed from API JSON, as
// the watches deliver them) -> proxy configuration document and statuses.

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "operator/namespace_plan.h"
#include "plan_helpers.h"
#include "weft/proxyconfig/enums.h"
#include "weft/proxyconfig/parse.h"

using nlohmann::json;
using namespace weft::op;
namespace pc = weft::proxyconfig;
using weft::op::test::condition;
using weft::op::test::document_of;

namespace {

const std::string kNow = "2026-01-01T00:00:00Z";

json meta(const std::string& name, const std::string& created = "2026-01-01T00:00:00Z") {
  return {{"name", name},    {"namespace", "shop"},      {"uid", "uid-" + name},
          {"generation", 3}, {"resourceVersion", "100"}, {"creationTimestamp", created}};
}

json service(const std::string& name, json ports, json selector = {{"app", "x"}}) {
  return {{"metadata", meta(name)},
          {"spec", {{"clusterIPs", {"10.96.0.1"}}, {"selector", selector}, {"ports", ports}}}};
}

json http_port(int port, int target = 0, const std::string& name = "http") {
  json out = {{"name", name}, {"port", port}, {"protocol", "TCP"}};
  if (target) out["targetPort"] = target;
  return out;
}

json slice(const std::string& name, const std::string& svc, json ports, json endpoints) {
  json m = meta(name);
  m["labels"] = {{"kubernetes.io/service-name", svc}};
  return {{"metadata", m}, {"addressType", "IPv4"}, {"ports", ports}, {"endpoints", endpoints}};
}

json endpoint(const std::string& ip, json conditions, const std::string& pod = "") {
  json out = {{"addresses", {ip}}, {"conditions", conditions}};
  if (!pod.empty()) out["targetRef"] = {{"kind", "Pod"}, {"name", pod}, {"namespace", "shop"}};
  return out;
}

json route(const std::string& name, json spec,
           const std::string& created = "2026-01-01T00:00:00Z") {
  return {{"metadata", meta(name, created)}, {"spec", spec}};
}

json policy(const std::string& name, json spec,
            const std::string& created = "2026-01-01T00:00:00Z") {
  return {{"metadata", meta(name, created)}, {"spec", spec}};
}

struct Fixture {
  NamespaceInput input;
  Fixture(bool meshed = true) {
    input.ns = "shop";
    json ns = {{"metadata", {{"name", "shop"}, {"uid", "ns-uid"}}}};
    if (meshed) ns["metadata"]["labels"] = {{"weft.io/inject", "enabled"}};
    input.namespace_object = std::make_shared<const NamespaceModel>(parse_namespace(ns));
  }
  void add_service(const json& j) {
    input.services.push_back(std::make_shared<const ServiceModel>(parse_service(j)));
  }
  void add_slice(const json& j) {
    input.endpoint_slices.push_back(
        std::make_shared<const EndpointSliceModel>(parse_endpoint_slice(j)));
  }
  void add_pod(const std::string& name, const std::string& account) {
    json pod = {{"metadata", meta(name)}, {"spec", {{"serviceAccountName", account}}}};
    input.pods.push_back(std::make_shared<const PodModel>(parse_pod(pod)));
  }
  // A pod as the webhook leaves it (the proxy, the seal), with these labels.
  void add_meshed_pod(const std::string& name, const json& labels) {
    json m = meta(name);
    m["labels"] = labels;
    m["annotations"] = {{"weft.io/injection-seal", "sha256:0123abcd"}};
    json pod = {
        {"metadata", m},
        {"spec", {{"initContainers", {{{"name", "weft-proxy"}, {"restartPolicy", "Always"}}}}}}};
    input.pods.push_back(std::make_shared<const PodModel>(parse_pod(pod)));
  }
  void add_route(const json& j) {
    input.routes.push_back(std::make_shared<const MeshRouteModel>(parse_mesh_route(j)));
  }
  void add_policy(const json& j) {
    input.policies.push_back(std::make_shared<const MeshPolicyModel>(parse_mesh_policy(j)));
  }
  NamespacePlan plan() const { return plan_namespace(input, kNow); }
};

const pc::ServicePort& port_of(const pc::Document& d, const std::string& svc, int port) {
  for (const auto& s : d.outbound.services) {
    if (s.name != svc) continue;
    for (const auto& p : s.ports) {
      if (p.port == port) return p;
    }
  }
  FAIL("no port " << svc << ":" << port);
  throw std::logic_error("unreachable");
}

json canary_spec() {
  return {
      {"parentRefs", {{{"name", "checkout"}, {"port", 8080}}}},
      {"rules",
       {{{"matches",
          {{{"path", {{"type", "PathPrefix"}, {"value", "/api"}}},
            {"headers", {{{"type", "Exact"}, {"name", "x-canary"}, {"value", "true"}}}}}}},
         {"backendRefs", {{{"name", "checkout-v2"}, {"port", 8080}, {"weight", 1}}}}},
        {{"matches", {{{"path", {{"type", "PathPrefix"}, {"value", "/"}}}}}},
         {"backendRefs",
          {{{"name", "checkout-v1"}, {"port", 8080}, {"weight", 90}},
           {{"name", "checkout-v2"}, {"port", 8080}, {"weight", 10}}}},
         {"timeouts", {{"request", "5s"}, {"backendRequest", "0s"}}},
         {"retry",
          {{"attempts", 2},
           {"codes", {503, 502}},
           {"backoff", "50ms"},
           {"budget", {{"percent", 20}, {"minRetriesPerSecond", 10}, {"interval", "10s"}}}}}}}}};
}

Fixture shop() {
  Fixture f;
  for (const char* name : {"checkout", "checkout-v1", "checkout-v2"}) {
    f.add_service(service(name, {http_port(8080, 8080)}, {{"app", name}}));
  }
  f.add_slice(slice("checkout-v1-abc", "checkout-v1", {http_port(8080)},
                    {endpoint("10.244.0.2", {{"ready", true}}, "v1-b"),
                     endpoint("10.244.0.1", json::object(), "v1-a"),
                     endpoint("10.244.0.3", {{"ready", false}}, "v1-c")}));
  f.add_pod("v1-a", "checkout");
  f.add_pod("v1-b", "checkout");
  f.add_route(route("checkout-canary", canary_spec()));
  return f;
}

}  // namespace

TEST_CASE("reconcile: services, ready endpoints with service accounts, a canary route",
          "[reconcile]") {
  const auto plan = shop().plan();
  const auto doc = document_of(plan);
  CHECK(doc.ns == "shop");
  REQUIRE(doc.outbound.services.size() == 3);

  const auto& v1 = port_of(doc, "checkout-v1", 8080);
  REQUIRE(v1.endpoints.size() == 2);  // the not-ready one is left out
  CHECK(v1.endpoints[0] == pc::Endpoint{"10.244.0.1", 8080, "checkout", "v1-a", ""});
  CHECK(v1.endpoints[1].address == "10.244.0.2");
  CHECK(v1.rules.empty());

  const auto& checkout = port_of(doc, "checkout", 8080);
  REQUIRE(checkout.rules.size() == 2);
  CHECK(checkout.rules[0].backends == std::vector<pc::Backend>{{"checkout-v2", 8080, 1}});
  CHECK(checkout.rules[1].backends.size() == 2);
  CHECK(checkout.rules[1].request_timeout == std::chrono::milliseconds(5000));
  CHECK_FALSE(checkout.rules[1].backend_request_timeout.has_value());  // "0s" = no limit
  REQUIRE(checkout.rules[1].retry.has_value());
  CHECK(checkout.rules[1].retry->codes == std::vector<std::uint16_t>{502, 503});
  CHECK(checkout.rules[1].retry->conditions ==
        std::vector<pc::RetryCondition>{pc::RetryCondition::kConnectFailure,
                                        pc::RetryCondition::kRefusedStream});  // CRD default
  REQUIRE(checkout.matches.size() == 2);
  CHECK(checkout.matches[0].path.value == "/api");
  CHECK(checkout.matches[0].rule == 0);
  CHECK(checkout.matches[1].rule == 1);

  CHECK(condition(plan, "checkout-canary", "Accepted").status == "True");
  CHECK(condition(plan, "checkout-canary", "ResolvedRefs").status == "True");
  CHECK(condition(plan, "checkout-canary", "Programmed").status == "True");
  CHECK(condition(plan, "checkout-canary", "Accepted").observed_generation == 3);
}

TEST_CASE("reconcile: missing backends and parents give the documented reasons", "[reconcile]") {
  Fixture f;
  f.add_service(service("checkout", {http_port(8080)}));
  f.add_route(route("canary", canary_spec()));  // checkout-v1, checkout-v2 do not exist
  f.add_route(route("orphan", {{"parentRefs", {{{"name", "gone"}}}}, {"rules", {json::object()}}}));
  const auto plan = f.plan();
  const auto& resolved = condition(plan, "canary", "ResolvedRefs");
  CHECK(resolved.status == "False");
  CHECK(resolved.reason == "BackendNotFound");
  CHECK_THAT(resolved.message,
             Catch::Contains("checkout-v1:8080") && Catch::Contains("checkout-v2:8080"));
  CHECK(condition(plan, "canary", "Accepted").status == "True");  // attached anyway
  const auto& orphan = condition(plan, "orphan", "Accepted");
  CHECK(orphan.status == "False");
  CHECK(orphan.reason == "ParentNotFound");
  CHECK(condition(plan, "orphan", "Programmed").reason == "NotAccepted");
  // Events for what went wrong.
  std::set<std::string> reasons;
  for (const auto& event : plan.status.events) reasons.insert(event.reason);
  CHECK(reasons == std::set<std::string>{"BackendNotFound", "ParentNotFound"});
}

TEST_CASE("reconcile: a regular expression that does not compile makes the route Invalid",
          "[reconcile]") {
  Fixture f;
  f.add_service(service("checkout", {http_port(8080)}));
  auto spec = canary_spec();
  spec["rules"][0]["matches"][0]["path"] = {{"type", "RegularExpression"}, {"value", "/api/(["}};
  f.add_route(route("bad", spec));
  const auto plan = f.plan();
  CHECK(condition(plan, "bad", "Accepted").reason == "Invalid");
  CHECK_THAT(condition(plan, "bad", "Accepted").message,
             Catch::Contains("spec.rules[0].matches[0].path.value"));
  CHECK(port_of(document_of(plan), "checkout", 8080).rules.empty());  // not programmed
}

TEST_CASE("reconcile: matches are ordered by Gateway API precedence across routes", "[reconcile]") {
  Fixture f;
  f.add_service(service("web", {http_port(80)}));
  const json parent = {{{"name", "web"}}};
  f.add_route(
      route("newer",
            {{"parentRefs", parent},
             {"rules",
              {{{"matches",
                 {{{"path", {{"type", "PathPrefix"}, {"value", "/"}}}},
                  {{"path", {{"type", "PathPrefix"}, {"value", "/api"}}}, {"method", "GET"}},
                  {{"path", {{"type", "Exact"}, {"value", "/a"}}}}}}}}}},
            "2026-02-01T00:00:00Z"));
  f.add_route(
      route("older",
            {{"parentRefs", parent},
             {"rules",
              {{{"matches",
                 {{{"path", {{"type", "PathPrefix"}, {"value", "/api"}}}, {"method", "GET"}},
                  {{"path", {{"type", "RegularExpression"}, {"value", "/r/[0-9]+"}}}},
                  {{"path", {{"type", "PathPrefix"}, {"value", "/api"}}}}}}}}}},
            "2026-01-01T00:00:00Z"));
  const auto doc = document_of(f.plan());
  const auto& port = port_of(doc, "web", 80);
  REQUIRE(port.rules.size() == 2);
  CHECK(port.rules[0].route == "older");  // rules listed oldest route first
  std::vector<std::string> order;
  for (const auto& match : port.matches) {
    order.push_back(port.rules[match.rule].route + " " + match.path.value +
                    (match.method ? " " + *match.method : ""));
  }
  CHECK(order == std::vector<std::string>{"newer /a", "older /r/[0-9]+", "older /api GET",
                                          "newer /api GET", "older /api", "newer /"});
}

TEST_CASE("reconcile: a rule without backends goes to its parent, an unset port means every port",
          "[reconcile]") {
  Fixture f;
  f.add_service(service("api", {http_port(80, 8080), http_port(9090, 9090, "grpc")}));
  f.add_route(route("timeouts", {{"parentRefs", {{{"name", "api"}}}},
                                 {"rules", {{{"timeouts", {{"request", "1s"}}}}}}}));
  const auto doc = document_of(f.plan());
  for (int port : {80, 9090}) {
    const auto& p = port_of(doc, "api", port);
    REQUIRE(p.rules.size() == 1);
    CHECK(p.rules[0].backends ==
          std::vector<pc::Backend>{{"api", static_cast<std::uint16_t>(port), 1}});
    REQUIRE(p.matches.size() == 1);
    CHECK(p.matches[0].path == pc::PathMatch{pc::PathMatchType::kPathPrefix, "/"});
  }
}

TEST_CASE("reconcile: endpoints fall back to serving terminating ones, deduplicated",
          "[reconcile]") {
  Fixture f;
  f.add_service(service("db", {http_port(5432, 0, "pg")}));
  const json terminating = {{"ready", false}, {"serving", true}, {"terminating", true}};
  const json gone = {{"ready", false}, {"serving", false}, {"terminating", true}};
  f.add_slice(slice("db-1", "db", {http_port(5432, 0, "pg")},
                    {endpoint("10.0.0.1", terminating), endpoint("10.0.0.2", gone)}));
  f.add_slice(slice("db-2", "db", {http_port(5432, 0, "pg")}, {endpoint("10.0.0.1", terminating)}));
  auto doc = document_of(f.plan());
  auto endpoints = port_of(doc, "db", 5432).endpoints;
  REQUIRE(endpoints.size() == 1);
  CHECK(endpoints[0].address == "10.0.0.1");
  CHECK(endpoints[0].service_account.empty());  // no pod: unknown

  // A ready endpoint anywhere wins over terminating ones.
  f.add_slice(
      slice("db-3", "db", {http_port(5432, 0, "pg")}, {endpoint("10.0.0.9", json::object())}));
  endpoints = port_of(document_of(f.plan()), "db", 5432).endpoints;
  REQUIRE(endpoints.size() == 1);
  CHECK(endpoints[0].address == "10.0.0.9");
}

TEST_CASE("reconcile: MeshPolicy sections by precedence, with Conflicted losers", "[reconcile]") {
  Fixture f;
  // A policy setting mtls is Programmed only when documents carry identity.
  f.input.identity.status = IdentityStatus::kConfigured;
  f.input.identity.config = pc::IdentityConfig{"cluster.local", "-----BEGIN CERTIFICATE-----\n"};
  f.add_service(service("payments", {http_port(8443, 9443, "https")}, {{"app", "payments"}}));
  f.add_policy(policy("port-strict",
                      {{"targetRef", {{"name", "payments"}, {"port", 8443}}},
                       {"mtls", {{"mode", "Strict"}}},
                       {"loadBalancer", {{"algorithm", "RoundRobin"}}}},
                      "2026-03-01T00:00:00Z"));
  f.add_policy(policy("all-pods",
                      {{"podSelector", json::object()},
                       {"mtls", {{"mode", "Permissive"}}},
                       {"loadBalancer", {{"algorithm", "LeastRequest"}}},
                       {"rateLimit", {{"requestsPerSecond", 50}}},
                       {"circuitBreaker", {{"ejectionTime", "10s"}}}},
                      "2026-01-01T00:00:00Z"));
  f.add_policy(
      policy("missing", {{"targetRef", {{"name", "nope"}}}, {"mtls", {{"mode", "Strict"}}}}));
  f.add_meshed_pod("payments-1", {{"app", "payments"}});
  f.add_meshed_pod("other-1", {{"app", "other"}});
  const auto plan = f.plan();
  const auto doc = document_of(plan);
  const auto& port = port_of(doc, "payments", 8443);
  CHECK(port.load_balancer == pc::LoadBalancerAlgorithm::kRoundRobin);
  REQUIRE(port.circuit_breaker.has_value());
  CHECK(port.circuit_breaker->consecutive_failures == 5);
  CHECK(port.circuit_breaker->ejection_time == std::chrono::seconds(10));
  CHECK(port.circuit_breaker->max_ejection_time == std::chrono::seconds(300));

  REQUIRE(doc.inbound.policies.size() == 2);
  CHECK(doc.inbound.policies[0].name == "port-strict");  // more specific first, though newer
  CHECK(doc.inbound.policies[0].pod_selector.match_labels ==
        std::map<std::string, std::string>{{"app", "payments"}});
  CHECK(doc.inbound.policies[0].ports == std::vector<std::uint16_t>{9443});  // the target port
  CHECK(doc.inbound.policies[1].name == "all-pods");
  CHECK(doc.inbound.policies[1].rate_limit == pc::RateLimit{50, 50});  // burst defaults to rps

  CHECK(condition(plan, "port-strict", "Accepted").status == "True");
  const auto& loser = condition(plan, "all-pods", "Accepted");
  CHECK(loser.status == "False");
  CHECK(loser.reason == "Conflicted");
  CHECK_THAT(loser.message, Catch::Contains("loadBalancer for payments:8443 (won by port-strict)"));
  // The proxies select policies by their pods' labels: the Service's policy
  // wins mtls on its port.
  CHECK_THAT(loser.message, Catch::Contains("mtls for payments:8443 (won by port-strict)"));
  const auto& strict = condition(plan, "port-strict", "Programmed");
  CHECK(strict.status == "True");
  CHECK_THAT(strict.message, Catch::Contains("mtls Strict enforced by the proxies of 1 pods"));
  const auto& all = condition(plan, "all-pods", "Programmed");
  CHECK(all.status == "True");  // wins elsewhere: other ports, other pods, rateLimit
  CHECK_THAT(all.message,
             Catch::Contains("mtls Permissive, rateLimit enforced by the proxies of 2 pods"));
  CHECK(condition(plan, "missing", "Accepted").reason == "TargetNotFound");
}

TEST_CASE("reconcile: same input in any order gives the same bytes", "[reconcile]") {
  auto f = shop();
  f.add_service(service("zeta", {http_port(1, 1), http_port(2, 2, "b")}));
  f.add_policy(policy("p", {{"podSelector", {{"matchLabels", {{"app", "x"}}}}},
                            {"authorization", {{"rules", {{{"to", {{"methods", {"GET"}}}}}}}}}}));
  const auto reference = f.plan();
  REQUIRE(reference.config.has_value());
  std::mt19937 random(7);
  for (int i = 0; i < 10; ++i) {
    auto shuffled = f;
    std::shuffle(shuffled.input.services.begin(), shuffled.input.services.end(), random);
    std::shuffle(shuffled.input.endpoint_slices.begin(), shuffled.input.endpoint_slices.end(),
                 random);
    std::shuffle(shuffled.input.pods.begin(), shuffled.input.pods.end(), random);
    std::shuffle(shuffled.input.routes.begin(), shuffled.input.routes.end(), random);
    const auto again = shuffled.plan();
    REQUIRE(again.config.has_value());
    CHECK(again.config->text == reference.config->text);
    CHECK(again.config->hash == reference.config->hash);
  }
}

TEST_CASE("reconcile: a document over 1 MiB is not produced and Programmed says why",
          "[reconcile]") {
  Fixture f;
  json endpoints = json::array();
  for (int i = 0; i < 250; ++i) {
    endpoints.push_back(endpoint(fmt::format("10.1.{}.{}", i / 250, i % 250), json::object()));
  }
  for (int s = 0; s < 130; ++s) {  // 32,500 endpoints of ~35 bytes
    const std::string name = fmt::format("svc-{:03d}", s);
    f.add_service(service(name, {http_port(80)}));
    f.add_slice(slice(name + "-slice", name, {http_port(80)}, endpoints));
  }
  f.add_route(route("r", {{"parentRefs", {{{"name", "svc-000"}}}}, {"rules", {json::object()}}}));
  const auto plan = f.plan();
  CHECK(plan.meshed);
  CHECK(plan.too_large);
  CHECK_FALSE(plan.config.has_value());
  CHECK(plan.config_bytes > 1024 * 1024);
  const auto& programmed = condition(plan, "r", "Programmed");
  CHECK(programmed.status == "False");
  CHECK(programmed.reason == "ConfigTooLarge");
  CHECK_THAT(programmed.message, Catch::Contains("over the ConfigMap limit of 1048576 bytes"));
  bool event = false;
  for (const auto& e : plan.status.events) event = event || e.reason == "ConfigTooLarge";
  CHECK(event);
}

TEST_CASE("reconcile: an unmeshed namespace gets no document", "[reconcile]") {
  Fixture f(false);
  f.add_service(service("checkout", {http_port(8080)}));
  f.add_route(route("r", {{"parentRefs", {{{"name", "checkout"}}}}, {"rules", {json::object()}}}));
  const auto plan = f.plan();
  CHECK_FALSE(plan.meshed);
  CHECK_FALSE(plan.config.has_value());
  CHECK(condition(plan, "r", "Programmed").reason == "NamespaceNotMeshed");
  CHECK(condition(plan, "r", "Accepted").status == "True");
}

TEST_CASE("reconcile: a pod opted in by annotation meshes its unlabelled namespace",
          "[reconcile]") {
  Fixture f(false);
  f.add_service(service("checkout", {http_port(8080)}));
  f.add_pod("plain-1", "web");
  CHECK_FALSE(f.plan().meshed);
  // The webhook injected it (weft.io/inject: enabled on the pod): its proxy
  // needs the namespace's document and the right to read it.
  f.add_meshed_pod("opted-in-1", {{"app", "web"}});
  const auto plan = f.plan();
  CHECK(plan.meshed);
  CHECK(plan.config.has_value());
}

TEST_CASE("reconcile: finished, deleted or system-namespace claims mesh nothing", "[reconcile]") {
  Fixture done(false);
  json pod = {
      {"metadata",
       {{"name", "job-1"},
        {"namespace", "shop"},
        {"uid", "uid-job-1"},
        {"annotations", {{"weft.io/injection-seal", "sha256:0123abcd"}}}}},
      {"spec", {{"initContainers", {{{"name", "weft-proxy"}, {"restartPolicy", "Always"}}}}}},
      {"status", {{"phase", "Succeeded"}}}};
  done.input.pods.push_back(std::make_shared<const PodModel>(parse_pod(pod)));
  CHECK_FALSE(done.plan().meshed);

  Fixture leaving(false);
  pod["status"]["phase"] = "Running";
  pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  leaving.input.pods.push_back(std::make_shared<const PodModel>(parse_pod(pod)));
  CHECK_FALSE(leaving.plan().meshed);

  for (const char* system : {"kube-system", "weft-system"}) {
    Fixture f(true);  // even labelled
    f.input.ns = system;
    f.add_meshed_pod("fake-1", {{"app", "x"}});
    CHECK_FALSE(f.plan().meshed);
  }
}

TEST_CASE("reconcile: an unchanged status is not written again and transition times are kept",
          "[reconcile][status]") {
  auto f = shop();
  const auto first = f.plan();
  REQUIRE(first.status.statuses.size() == 1);
  CHECK(first.status.statuses[0].changed);

  // Store what was written, as the watch would show it, one hour later.
  auto stored = parse_mesh_route(route("checkout-canary", canary_spec()));
  const auto patch = status_patch(first.status.statuses[0]);
  stored.status = parse_status(patch);
  f.input.routes = {std::make_shared<const MeshRouteModel>(stored)};
  const auto second = plan_namespace(f.input, "2026-01-01T01:00:00Z");
  CHECK_FALSE(second.status.statuses[0].changed);
  CHECK(second.status.events.empty());
  for (const auto& c : second.status.statuses[0].conditions) {
    CHECK(c.last_transition_time == kNow);
  }

  // A backend disappears: ResolvedRefs flips, with a new time and an Event.
  std::erase_if(f.input.services, [](const auto& s) { return s->meta.name == "checkout-v2"; });
  const auto third = plan_namespace(f.input, "2026-01-01T02:00:00Z");
  CHECK(third.status.statuses[0].changed);
  CHECK(condition(third, "checkout-canary", "ResolvedRefs").last_transition_time ==
        "2026-01-01T02:00:00Z");
  CHECK(condition(third, "checkout-canary", "Accepted").last_transition_time == kNow);
  REQUIRE(third.status.events.size() == 1);
  CHECK(third.status.events[0].reason == "BackendNotFound");
}

TEST_CASE("reconcile: label selectors", "[reconcile]") {
  pc::LabelSelector selector;
  selector.match_labels = {{"app", "a"}};
  selector.match_expressions = {{"tier", pc::SelectorOperator::kIn, {"web", "api"}},
                                {"canary", pc::SelectorOperator::kDoesNotExist, {}}};
  CHECK(selector_matches(selector, {{"app", "a"}, {"tier", "web"}}));
  CHECK_FALSE(selector_matches(selector, {{"app", "a"}, {"tier", "db"}}));
  CHECK_FALSE(selector_matches(selector, {{"app", "a"}, {"tier", "web"}, {"canary", "1"}}));
  CHECK_FALSE(selector_matches(selector, {{"tier", "web"}}));
  CHECK(selector_matches(pc::LabelSelector{}, {}));
}

TEST_CASE("reconcile: generated objects are owned by the namespace and labelled", "[reconcile]") {
  const auto plan = shop().plan();
  NamespaceModel ns = *shop().input.namespace_object;
  const auto cm = desired_config_map(ns, *plan.config);
  CHECK(cm["metadata"]["name"] == "weft-proxy-config");
  CHECK(cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "weft-operator");
  CHECK(cm["metadata"]["annotations"]["weft.io/config-hash"] == plan.config->hash);
  CHECK(cm["metadata"]["ownerReferences"][0]["uid"] == "ns-uid");
  CHECK(cm["data"]["config.json"] == plan.config->text);
  const auto binding = desired_role_binding(ns);
  CHECK(binding["roleRef"]["kind"] == "ClusterRole");
  CHECK(binding["roleRef"]["name"] == "weft-proxy-config-reader");
  CHECK(binding["subjects"][0]["name"] == "system:serviceaccounts:shop");
}

TEST_CASE("model: API objects parse into the fields reconcile uses", "[model]") {
  const auto ns = parse_namespace({{"metadata",
                                    {{"name", "shop"},
                                     {"deletionTimestamp", "2026-01-01T00:00:00Z"},
                                     {"labels", {{"weft.io/inject", "disabled"}}}}}});
  CHECK(ns.meta.deleting);
  CHECK_FALSE(ns.meshed);
  const auto svc = parse_service({{"metadata", meta("s")},
                                  {"spec",
                                   {{"clusterIP", "None"},
                                    {"ports",
                                     {{{"port", 80}, {"targetPort", "http"}},
                                      {{"port", 53}, {"protocol", "UDP"}},
                                      {{"port", "bad"}}}}}}});
  CHECK(svc.cluster_ips.empty());  // headless
  REQUIRE(svc.ports.size() == 2);  // the malformed port is dropped
  CHECK(svc.ports[0].target_port_name == "http");
  CHECK(svc.ports[1].target_port_number == 53);  // defaults to the port
  CHECK(parse_pod({{"metadata", meta("p")}}).service_account == "default");
  const auto both = parse_mesh_policy(
      policy("both", {{"targetRef", {{"name", "a"}}}, {"podSelector", json::object()}}));
  CHECK_THAT(both.invalid, Catch::Contains("exactly one of targetRef or podSelector"));
  const auto cm = parse_config_map(
      {{"metadata",
        {{"name", "weft-proxy-config"}, {"annotations", {{"weft.io/config-hash", "h"}}}}},
       {"data", {{"config.json", "{}"}}}});
  CHECK(cm.hash == "h");
  CHECK(cm.document == "{}");
}

TEST_CASE("reconcile: a regular expression RE2 refuses makes the route Invalid", "[reconcile]") {
  // A backreference: ECMAScript engines accept it, RE2 (which the proxy
  // matches with) does not, so the operator must not program it.
  Fixture f;
  f.add_service(service("checkout", {http_port(8080)}));
  auto spec = canary_spec();
  spec["rules"][0]["matches"][0]["headers"] = {
      {{"type", "RegularExpression"}, {"name", "x-id"}, {"value", "(a)\\1"}}};
  f.add_route(route("backref", spec));
  const auto plan = f.plan();
  CHECK(condition(plan, "backref", "Accepted").reason == "Invalid");
  CHECK_THAT(condition(plan, "backref", "Accepted").message,
             Catch::Contains("spec.rules[0].matches[0].headers[0].value") &&
                 Catch::Contains("not valid RE2"));
  CHECK(port_of(document_of(plan), "checkout", 8080).rules.empty());
}

TEST_CASE("reconcile: a server-side policy's Programmed tells where the proxies enforce it",
          "[reconcile][status]") {
  Fixture f;
  f.add_policy(
      policy("web-authz", {{"podSelector", {{"matchLabels", {{"app", "web"}}}}},
                           {"authorization", {{"rules", {{{"to", {{"methods", {"GET"}}}}}}}}}}));
  f.add_policy(policy("lb-only", {{"podSelector", json::object()},
                                  {"loadBalancer", {{"algorithm", "RoundRobin"}}}}));
  auto plan = f.plan();
  CHECK(condition(plan, "web-authz", "Programmed").reason == "NoPodsSelected");
  // Client-side sections only: nothing for the proxies of pods to enforce.
  CHECK(condition(plan, "lb-only", "Programmed").status == "True");

  f.add_pod("web-1", "web");  // no labels: still selects nothing
  json opted_out = {{"metadata", meta("web-2")}, {"spec", json::object()}};
  opted_out["metadata"]["labels"] = {{"app", "web"}};
  f.input.pods.push_back(std::make_shared<const PodModel>(parse_pod(opted_out)));
  plan = f.plan();
  auto programmed = condition(plan, "web-authz", "Programmed");
  CHECK(programmed.status == "False");
  CHECK(programmed.reason == "PodsNotMeshed");
  CHECK_THAT(programmed.message, Catch::Contains("web-2"));

  f.add_meshed_pod("web-3", {{"app", "web"}});
  plan = f.plan();
  programmed = condition(plan, "web-authz", "Programmed");
  CHECK(programmed.status == "True");
  CHECK_THAT(programmed.message,
             Catch::Contains("authorization enforced by the proxies of 1 pods") &&
                 Catch::Contains("1 selected pod(s) not meshed (e.g. web-2)"));

  // The same facts again: the stored status is kept, nothing to write.
  json stored =
      policy("web-authz", {{"podSelector", {{"matchLabels", {{"app", "web"}}}}},
                           {"authorization", {{"rules", {{{"to", {{"methods", {"GET"}}}}}}}}}});
  json conditions = json::array();
  for (const auto& status : plan.status.statuses) {
    if (status.name != "web-authz") continue;
    for (const auto& c : status.conditions) {
      conditions.push_back({{"type", c.type},
                            {"status", c.status},
                            {"reason", c.reason},
                            {"message", c.message},
                            {"observedGeneration", c.observed_generation},
                            {"lastTransitionTime", c.last_transition_time}});
    }
  }
  stored["status"] = {{"observedGeneration", 3}, {"conditions", conditions}};
  f.input.policies[0] = std::make_shared<const MeshPolicyModel>(parse_mesh_policy(stored));
  plan = f.plan();
  for (const auto& status : plan.status.statuses) {
    if (status.name == "web-authz") CHECK_FALSE(status.changed);
  }
}

TEST_CASE("reconcile: Programmed names the sections a policy wins, not only those it sets",
          "[reconcile][status]") {
  const json authz = {{"rules", {{{"to", {{"methods", {"GET"}}}}}}}};
  const json web = {{"matchLabels", {{"app", "web"}}}};
  {
    // wide's authorization holds on api-1 only: early sets it for web-1.
    Fixture f;
    f.add_policy(
        policy("early", {{"podSelector", web}, {"authorization", authz}}, "2026-01-01T00:00:00Z"));
    f.add_policy(policy("wide",
                        {{"podSelector", json::object()},
                         {"authorization", authz},
                         {"rateLimit", {{"requestsPerSecond", 5}}}},
                        "2026-01-02T00:00:00Z"));
    f.add_meshed_pod("web-1", {{"app", "web"}});
    f.add_meshed_pod("api-1", {{"app", "api"}});
    const auto plan = f.plan();
    const auto& wide = condition(plan, "wide", "Programmed");
    CHECK(wide.status == "True");
    CHECK_THAT(wide.message, Catch::Contains("; authorization (on 1), rateLimit enforced by the "
                                             "proxies of 2 pods"));
  }
  {
    // late's authorization holds nowhere: early sets it for every pod late selects.
    Fixture f;
    f.add_policy(
        policy("early", {{"podSelector", web}, {"authorization", authz}}, "2026-01-01T00:00:00Z"));
    f.add_policy(policy(
        "late",
        {{"podSelector", web}, {"authorization", authz}, {"rateLimit", {{"requestsPerSecond", 5}}}},
        "2026-01-02T00:00:00Z"));
    f.add_meshed_pod("web-1", {{"app", "web"}});
    const auto plan = f.plan();
    const auto& late = condition(plan, "late", "Programmed");
    CHECK(late.status == "True");
    CHECK_THAT(late.message,
               Catch::Contains("; rateLimit enforced by the proxies of 1 pods; authorization not "
                               "enforced: a policy earlier in precedence order sets it wherever "
                               "this one applies"));
  }
}

TEST_CASE(
    "reconcile: an authorization rule without a list makes the policy Invalid, not the "
    "document",
    "[reconcile]") {
  Fixture f;
  // What an older CRD, or a list of the wrong type, lets through.
  f.add_policy(
      policy("open", {{"podSelector", json::object()},
                      {"authorization", {{"rules", {{{"from", {{"cidrs", "10.0.0.0/8"}}}}}}}}}));
  f.add_policy(
      policy("fine", {{"podSelector", json::object()}, {"rateLimit", {{"requestsPerSecond", 5}}}}));
  const auto plan = f.plan();
  const auto& accepted = condition(plan, "open", "Accepted");
  CHECK(accepted.reason == "Invalid");
  CHECK_THAT(accepted.message, Catch::Contains("spec.authorization.rules[0]: sets no list"));
  const auto doc = document_of(plan);  // still valid for the proxies
  REQUIRE(doc.inbound.policies.size() == 1);
  CHECK(doc.inbound.policies[0].name == "fine");
}

TEST_CASE(
    "reconcile: gRPC matches become gRPC-only paths, ranked before HTTP ones, GRPCRoute order",
    "[reconcile][grpc]") {
  Fixture f;
  f.add_service(service("cart", {http_port(9090, 9090, "grpc")}));
  const json parent = {{{"name", "cart"}}};
  const auto grpc_method = [](json fields) { return json{{"grpcMethod", fields}}; };

  json older_rule;
  older_rule["matches"] =
      json::array({json{{"path", {{"type", "Exact"}, {"value", "/shop.Cart/AddItem"}}}},
                   grpc_method({{"type", "Exact"}, {"method", "Check"}}),
                   grpc_method({{"type", "RegularExpression"}, {"service", "shop\\..*"}})});
  json older_spec;
  older_spec["parentRefs"] = parent;
  older_spec["rules"] = json::array({older_rule});
  f.add_route(route("older", older_spec, "2026-01-01T00:00:00Z"));

  json with_header =
      grpc_method({{"type", "Exact"}, {"service", "shop.Cart"}, {"method", "AddItem"}});
  with_header["headers"] = json::array({{{"type", "Exact"}, {"name", "x-canary"}, {"value", "1"}}});
  json newer_rule;
  newer_rule["matches"] = json::array(
      {grpc_method({{"type", "Exact"}, {"service", "shop.Cart"}}), with_header,
       grpc_method({{"type", "Exact"}, {"service", "shop.Cart"}, {"method", "AddItem"}}),
       grpc_method({{"type", "Exact"}, {"service", "shop.v1.Cart"}})});
  newer_rule["retry"] = {{"attempts", 2},
                         {"grpcCodes", {"Unavailable", "ResourceExhausted", "Unavailable"}},
                         {"backoff", "25ms"}};
  json newer_spec;
  newer_spec["parentRefs"] = parent;
  newer_spec["rules"] = json::array({newer_rule});
  f.add_route(route("newer", newer_spec, "2026-02-01T00:00:00Z"));

  const auto plan = f.plan();
  CHECK(condition(plan, "older", "Accepted").status == "True");
  CHECK(condition(plan, "newer", "Accepted").status == "True");
  const auto doc = document_of(plan);
  const auto& port = port_of(doc, "cart", 9090);
  std::vector<std::string> order;
  for (const auto& match : port.matches) {
    order.push_back(fmt::format(
        "{} {} {}{}{}", port.rules[match.rule].route, pc::to_string(match.path.type),
        match.path.value, match.grpc ? " grpc" : "", match.headers.empty() ? "" : " +header"));
  }
  CHECK(order == std::vector<std::string>{
                     // The longer service first (a request matches only one
                     // of two different services, so this order is moot).
                     "newer PathPrefix /shop.v1.Cart/ grpc",
                     // The same service: with the method before without,
                     // and with equal ones, more headers first.
                     "newer Exact /shop.Cart/AddItem grpc +header",
                     "newer Exact /shop.Cart/AddItem grpc",
                     "newer PathPrefix /shop.Cart/ grpc",
                     // Method only (no service) after any service.
                     "older RegularExpression /[^/]+/Check grpc",
                     // Regular expressions after every Exact.
                     "older RegularExpression /(?:shop\\..*)/[^/]+ grpc",
                     // HTTP matches last.
                     "older Exact /shop.Cart/AddItem",
                 });
  const auto& retry = port.rules[1].retry;  // rules: older's first
  REQUIRE(retry.has_value());
  CHECK(retry->grpc_codes == std::vector<std::uint8_t>{8, 14});  // sorted, once each
  CHECK(retry->codes.empty());
}

TEST_CASE("reconcile: a gRPC match the API server should have refused makes the route Invalid",
          "[reconcile][grpc]") {
  struct Case {
    json match;
    std::string field;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{{"grpcMethod", {{"type", "RegularExpression"}, {"service", "(shop"}}}},
       "spec.rules[0].matches[0].grpcMethod.service",
       "not valid RE2"},
      {{{"grpcMethod", {{"type", "Exact"}, {"service", "shop/Cart"}}}},
       "spec.rules[0].matches[0].grpcMethod.service",
       "is not a protobuf service name"},
      {{{"grpcMethod", {{"type", "Exact"}}}},
       "spec.rules[0].matches[0].grpcMethod",
       "sets neither service nor method"},
      {{{"grpcMethod", {{"method", "Add"}}}, {"path", {{"type", "PathPrefix"}, {"value", "/"}}}},
       "spec.rules[0].matches[0].path",
       "cannot be set beside grpcMethod"},
      {{{"grpcMethod", {{"method", "Add"}}}, {"method", "POST"}},
       "spec.rules[0].matches[0].method",
       "cannot be set beside grpcMethod"},
      {{{"grpcMethod", {{"type", "Prefix"}, {"method", "Add"}}}},
       "spec.rules[0].matches[0].grpcMethod.type",
       "unknown \"Prefix\""},
  };
  for (const auto& c : cases) {
    INFO(c.match.dump());
    Fixture f;
    f.add_service(service("cart", {http_port(9090)}));
    json spec;
    spec["parentRefs"] = {{{"name", "cart"}}};
    spec["rules"] = json::array({json{{"matches", json::array({c.match})}}});
    f.add_route(route("bad", spec));
    const auto plan = f.plan();
    CHECK(condition(plan, "bad", "Accepted").reason == "Invalid");
    CHECK_THAT(condition(plan, "bad", "Accepted").message,
               Catch::Contains(c.field) && Catch::Contains(c.reason));
    CHECK(port_of(document_of(plan), "cart", 9090).rules.empty());
  }
}

TEST_CASE("reconcile: an unknown gRPC status in grpcCodes makes the route Invalid",
          "[reconcile][grpc]") {
  Fixture f;
  f.add_service(service("cart", {http_port(9090)}));
  json spec;
  spec["parentRefs"] = {{{"name", "cart"}}};
  spec["rules"] =
      json::array({json{{"retry", {{"attempts", 1}, {"grpcCodes", json::array({"OK"})}}}}});
  f.add_route(route("bad", spec));
  const auto plan = f.plan();
  CHECK(condition(plan, "bad", "Accepted").reason == "Invalid");
  CHECK_THAT(condition(plan, "bad", "Accepted").message,
             Catch::Contains("spec.rules[0].retry.grpcCodes: unknown gRPC status \"OK\""));
}
