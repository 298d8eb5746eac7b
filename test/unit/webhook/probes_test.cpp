#include "webhook/probes.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "review_fixtures.h"
#include "webhook/mutate.h"
#include "webhook/service.h"

using nlohmann::json;
using weft::ProbeRoute;
using weft::webhook::scan_probes;

namespace {

json http_get(json port, const char* path = nullptr, const char* scheme = nullptr) {
  json get = {{"port", std::move(port)}};
  if (path != nullptr) get["path"] = path;
  if (scheme != nullptr) get["scheme"] = scheme;
  return {{"httpGet", std::move(get)}, {"periodSeconds", 5}};
}

json container(const char* name, json probes, json ports = json::array()) {
  json c = {{"name", name}, {"image", "app"}, {"ports", std::move(ports)}};
  for (auto& [kind, probe] : probes.items()) c[kind] = probe;
  return c;
}

json spec_of(json containers) {
  return {{"containers", std::move(containers)}};
}

const json kPorts = json::array(
    {{{"name", "http"}, {"containerPort", 8080}}, {{"name", "admin"}, {"containerPort", 9901}}});

}  // namespace

TEST_CASE("httpGet probes of app containers become routes", "[probes]") {
  struct Case {
    const char* name;
    json spec;
    std::vector<ProbeRoute> routes;
    std::vector<std::string> skipped_parts;  // one per skipped probe, in order
  };
  const std::vector<Case> cases = {
      {"a numbered port and a path",
       spec_of({container("app", {{"readinessProbe", http_get(8080, "/ready?x=1")}})}),
       {{8080, "/ready?x=1"}},
       {}},
      {"a named port is resolved from the container's ports",
       spec_of({container("app", {{"livenessProbe", http_get("admin", "/healthz")}}, kPorts)}),
       {{9901, "/healthz"}},
       {}},
      {"no path, or an empty one, is /",
       spec_of({container(
           "app", {{"livenessProbe", http_get(8080)}, {"startupProbe", http_get(8081, "")}})}),
       {{8080, "/"}, {8081, "/"}},
       {}},
      {"scheme HTTP is kept, HTTPS skipped",
       spec_of({container("app", {{"livenessProbe", http_get(8080, "/l", "HTTP")},
                                  {"readinessProbe", http_get(8443, "/r", "HTTPS")}})}),
       {{8080, "/l"}},
       {"spec.containers[0].readinessProbe: scheme HTTPS"}},
      {"an unresolvable named port is skipped",
       spec_of({container("app", {{"readinessProbe", http_get("metrics", "/r")}}, kPorts)}),
       {},
       {"port name 'metrics' is not one of the container's ports"}},
      {"a named port of another container does not resolve",
       spec_of({container("a", {}, kPorts),
                container("b", {{"readinessProbe", http_get("http", "/r")}})}),
       {},
       {"spec.containers[1].readinessProbe: port name 'http'"}},
      {"tcpSocket, exec and grpc probes are not HTTP: ignored",
       spec_of({container("app", {{"livenessProbe", {{"tcpSocket", {{"port", 8080}}}}},
                                  {"readinessProbe", {{"exec", {{"command", {"true"}}}}}},
                                  {"startupProbe", {{"grpc", {{"port", 9090}}}}}})}),
       {},
       {}},
      {"weft's own containers are not the app's",
       spec_of({container("weft-proxy", {{"readinessProbe", http_get(4191, "/ready")}}),
                container("app", {{"readinessProbe", http_get(8080, "/ready")}})}),
       {{8080, "/ready"}},
       {}},
      {"the same route from several probes is one",
       spec_of({container("a", {{"livenessProbe", http_get(8080, "/h")},
                                {"readinessProbe", http_get(8080, "/h")}}),
                container("b", {{"readinessProbe", http_get(8080, "/h")}})}),
       {{8080, "/h"}},
       {}},
      {"bad shapes are skipped with a reason, never a crash",
       spec_of({container("app", {{"livenessProbe", {{"httpGet", "nope"}}},
                                  {"readinessProbe", {{"httpGet", {{"path", "/x"}}}}},
                                  {"startupProbe", http_get(json::array(), "/y")}}),
                container("b", {{"livenessProbe", http_get(70000, "/z")},
                                {"readinessProbe", http_get(8080, "relative")},
                                {"startupProbe", http_get(8080, "/a b")}})}),
       {},
       {"httpGet is not an object", "no port", "neither a number nor a name", "not from 1 to 65535",
        "must start with '/'", "byte 32 is not a visible ASCII"}},
      {"not a spec: no probes", json::array({1, 2}), {}, {}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const auto scan = scan_probes(c.spec);
    CHECK(scan.routes == c.routes);
    REQUIRE(scan.skipped.size() == c.skipped_parts.size());
    for (std::size_t i = 0; i < c.skipped_parts.size(); ++i) {
      CHECK_THAT(scan.skipped[i], Catch::Contains(c.skipped_parts[i]));
    }
  }
}

TEST_CASE("sidecar init containers' probes count too", "[probes]") {
  const json spec = {
      {"containers", json::array({container("app", {{"readinessProbe", http_get(8080, "/a")}})})},
      {"initContainers",
       json::array({container("log", {{"startupProbe", http_get(9000, "/b")}})})}};
  const auto scan = scan_probes(spec);
  CHECK(scan.routes == std::vector<ProbeRoute>{{8080, "/a"}, {9000, "/b"}});
}

TEST_CASE("probe routes and reasons are bounded", "[probes]") {
  json containers = json::array();
  for (int i = 0; i < 20; ++i) {
    const std::string path = "/p" + std::to_string(i);
    containers.push_back(container(("c" + std::to_string(i)).c_str(),
                                   {{"livenessProbe", http_get(8080, (path + "l").c_str())},
                                    {"readinessProbe", http_get(8080, (path + "r").c_str())}}));
  }
  const auto scan = scan_probes(spec_of(containers));
  CHECK(scan.routes.size() == weft::kMaxProbeRoutes);
  REQUIRE(scan.skipped.size() == weft::webhook::kMaxProbeSkipReasons);
  CHECK_THAT(scan.skipped[0], Catch::Contains("more than 32 distinct probe routes"));
  CHECK(scan.more_skipped == 40 - weft::kMaxProbeRoutes - weft::webhook::kMaxProbeSkipReasons);

  // A long path is refused whole, not cut.
  const std::string long_path = "/" + std::string(300, 'a');
  const auto long_scan = scan_probes(
      spec_of({container("app", {{"readinessProbe", http_get(8080, long_path.c_str())}})}));
  CHECK(long_scan.routes.empty());
  REQUIRE(long_scan.skipped.size() == 1);
  CHECK_THAT(long_scan.skipped[0], Catch::Contains("longer than 256 bytes"));
}

TEST_CASE("injection hands the probes to the proxy and says which it cannot", "[probes][mutate]") {
  json pod = weft::test::minimal_pod();
  pod["spec"]["containers"][0]["ports"] = kPorts;
  pod["spec"]["containers"][0]["readinessProbe"] = http_get("http", "/ready?full=1");
  pod["spec"]["containers"][0]["livenessProbe"] = http_get(8443, "/live", "HTTPS");
  for (const auto& config : {weft::test::native_config(), weft::test::classic_config()}) {
    const json review = weft::test::review_of(pod);
    const auto result = weft::webhook::mutate(weft::test::request_of(review), config,
                                              weft::webhook::Scope::kNamespaceEnabled);
    REQUIRE(result.result == weft::webhook::ReviewResult::kInjected);
    const json injected = review["request"]["object"].patch(json::parse(result.outcome.patch));
    const json* proxy = nullptr;
    for (const char* list : {"initContainers", "containers"}) {
      for (const json& c : injected["spec"][list]) {
        if (c["name"] == "weft-proxy") proxy = &c;
      }
    }
    REQUIRE(proxy != nullptr);
    std::string probes;
    for (const json& env : (*proxy)["env"]) {
      if (env["name"] == "WEFT_PROXY_INBOUND_PROBES") probes = env["value"];
    }
    CHECK(probes == "8080/ready?full=1");
    REQUIRE(result.outcome.warnings.size() == 1);
    CHECK_THAT(result.outcome.warnings[0],
               Catch::Contains("spec.containers[0].livenessProbe: scheme HTTPS"));

    // Reinvoked on the injected pod: recognised as this webhook's injection.
    json again = review;
    again["request"]["object"] = injected;
    const auto second = weft::webhook::mutate(weft::test::request_of(again), config,
                                              weft::webhook::Scope::kNamespaceEnabled);
    CHECK(second.result == weft::webhook::ReviewResult::kSkipped);
    CHECK(second.reason == "already injected");
  }
}

TEST_CASE("the service counts the probes it could not exempt", "[probes][service]") {
  weft::Registry registry;
  std::ostringstream log;
  weft::Logger logger("webhook", weft::LogLevel::kInfo, weft::ostream_sink(log));
  weft::webhook::WebhookService service(weft::test::native_config(), registry, logger);
  auto routes = service.routes();
  const auto metric = [&] {
    return routes.at("/metrics")({"GET", "/metrics", "", "", "", "", ""}).body;
  };
  CHECK_THAT(metric(), Catch::Contains("weft_webhook_probes_not_exempted_total 0"));
  json pod = weft::test::minimal_pod();
  pod["spec"]["containers"][0]["readinessProbe"] = http_get(8080, "/ready");
  pod["spec"]["containers"][0]["livenessProbe"] = http_get(8443, "/live", "HTTPS");
  pod["spec"]["containers"][0]["startupProbe"] = http_get("nope", "/start");
  const auto answer = routes.at("/mutate")(
      {"POST", "/mutate", "", "application/json", weft::test::review_of(pod).dump(), "", ""});
  REQUIRE(answer.status == 200);
  const json response = json::parse(answer.body)["response"];
  CHECK(response["allowed"] == true);
  CHECK(response["warnings"].size() == 2);
  CHECK_THAT(metric(), Catch::Contains("weft_webhook_probes_not_exempted_total 2"));
}
