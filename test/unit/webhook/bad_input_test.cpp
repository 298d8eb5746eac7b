// Bad input, case by case. Two kinds of answer (docs/webhook.md, "Bad input"):
// - a body that is not an AdmissionReview: HTTP 400 with the reason (there is no
//   review to answer);
// - a pod we were asked to inject but cannot: allowed=false with code 400 and the
//   reason, so the pod never runs outside the mesh unnoticed.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "review_fixtures.h"
#include "webhook/mutate.h"
#include "webhook/service.h"

using nlohmann::json;
using weft::test::minimal_pod;
using weft::test::native_config;
using weft::test::review_of;

namespace {

struct BadBody {
  std::string name;
  std::string body;
  std::string reason;  // expected in the 400 answer
};

std::string review_text_with(const std::function<void(json&)>& edit) {
  json review = review_of(minimal_pod());
  edit(review);
  return review.dump();
}

std::vector<BadBody> bad_bodies() {
  return {
      {"empty body", "", "empty body"},
      {"not JSON", "hello", "not valid JSON"},
      {"truncated JSON", R"({"apiVersion":"admission.k8s.io/v1","kind":)", "not valid JSON"},
      {"JSON null", "null", "not a JSON object"},
      {"JSON array", "[]", "not a JSON object"},
      {"JSON string", "\"AdmissionReview\"", "not a JSON object"},
      {"invalid UTF-8", "{\"kind\":\"\xff\xfe\"}", "not valid JSON"},
      {"deeply nested", std::string(100000, '[') + std::string(100000, ']'), "nested deeper"},
      {"nested inside a valid review", review_text_with([](json& r) {
         json deep = json::array();
         for (int i = 0; i < 100; ++i) deep = json::array({deep});
         r["request"]["object"]["metadata"]["labels"] = {{"x", deep}};
       }),
       "nested deeper"},
      {"no kind", review_text_with([](json& r) { r.erase("kind"); }), "expected AdmissionReview"},
      {"wrong kind", review_text_with([](json& r) { r["kind"] = "Pod"; }), "kind is 'Pod'"},
      {"kind not a string", review_text_with([](json& r) { r["kind"] = 7; }),
       "kind must be a string"},
      {"v1beta1", review_text_with([](json& r) { r["apiVersion"] = "admission.k8s.io/v1beta1"; }),
       "admissionReviewVersions"},
      {"no request", review_text_with([](json& r) { r.erase("request"); }), "no request object"},
      {"request is a list", review_text_with([](json& r) { r["request"] = json::array(); }),
       "no request object"},
      {"no uid", review_text_with([](json& r) { r["request"].erase("uid"); }),
       "request.uid is missing"},
      {"uid is a number", review_text_with([](json& r) { r["request"]["uid"] = 12; }),
       "request.uid must be a string"},
      {"no operation", review_text_with([](json& r) { r["request"].erase("operation"); }),
       "request.operation is missing"},
      {"no request.kind", review_text_with([](json& r) { r["request"].erase("kind"); }),
       "request.kind is missing"},
      {"request.kind a string", review_text_with([](json& r) { r["request"]["kind"] = "Pod"; }),
       "request.kind is missing or not an object"},
      {"request.kind.kind missing",
       review_text_with([](json& r) { r["request"]["kind"].erase("kind"); }),
       "request.kind.kind is missing"},
      {"dryRun a string", review_text_with([](json& r) { r["request"]["dryRun"] = "yes"; }),
       "request.dryRun must be a boolean"},
      {"namespace a number", review_text_with([](json& r) { r["request"]["namespace"] = 1; }),
       "request.namespace must be a string"},
  };
}

struct BadPod {
  std::string name;
  std::function<void(json& pod)> edit;
  std::string reason;  // expected in the denial message
  std::string ns = "shop";
};

std::vector<BadPod> bad_pods() {
  return {
      {"no spec", [](json& p) { p.erase("spec"); }, "no spec object"},
      {"spec a list", [](json& p) { p["spec"] = json::array(); }, "no spec object"},
      {"no containers", [](json& p) { p["spec"].erase("containers"); },
       "spec.containers is missing"},
      {"containers empty", [](json& p) { p["spec"]["containers"] = json::array(); },
       "spec.containers is empty"},
      {"containers an object", [](json& p) { p["spec"]["containers"] = json::object(); },
       "spec.containers must be a list"},
      {"container a string", [](json& p) { p["spec"]["containers"][0] = "app"; },
       "spec.containers[0] must be an object"},
      {"container without name", [](json& p) { p["spec"]["containers"][0].erase("name"); },
       "spec.containers[0].name must be a non-empty string"},
      {"container name a number", [](json& p) { p["spec"]["containers"][0]["name"] = 3; },
       "spec.containers[0].name must be a non-empty string"},
      {"initContainers an object", [](json& p) { p["spec"]["initContainers"] = json::object(); },
       "spec.initContainers must be a list"},
      {"ports an object", [](json& p) { p["spec"]["containers"][0]["ports"] = json::object(); },
       "spec.containers[0].ports must be a list"},
      {"containerPort a string",
       [](json& p) {
         p["spec"]["containers"][0]["ports"] = {{{"containerPort", "80"}}};
       },
       "integer containerPort"},
      {"volumes an object", [](json& p) { p["spec"]["volumes"] = json::object(); },
       "spec.volumes must be a list"},
      {"volume without name",
       [](json& p) {
         p["spec"]["volumes"] = {{{"emptyDir", json::object()}}};
       },
       "spec.volumes[0].name must be a string"},
      {"metadata a string", [](json& p) { p["metadata"] = "x"; }, "metadata must be an object"},
      {"annotations a list", [](json& p) { p["metadata"]["annotations"] = json::array(); },
       "metadata.annotations must be an object"},
      {"annotation value a number",
       [](json& p) {
         p["metadata"]["annotations"] = {{"a", 1}};
       },
       "metadata.annotations[a] must be a string"},
      {"hostNetwork a string", [](json& p) { p["spec"]["hostNetwork"] = "true"; },
       "spec.hostNetwork must be a boolean"},
      {"inject annotation 'true'",
       [](json& p) {
         p["metadata"]["annotations"] = {{"weft.io/inject", "true"}};
       },
       "must be 'enabled' or 'disabled', not 'true'"},
      {"skip-inbound-ports a name",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/skip-inbound-ports", "http"}};
       },
       "config.weft.io/skip-inbound-ports: 'http' is not a port"},
      {"skip-outbound-ports out of range",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/skip-outbound-ports", "70000"}};
       },
       "config.weft.io/skip-outbound-ports: '70000'"},
      {"skip-subnets with host bits",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/skip-subnets", "10.1.2.3/8"}};
       },
       "did you mean 10.0.0.0/8?"},
      {"skip-subnets IPv6",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/skip-subnets", "fd00::/8"}};
       },
       "IPv6"},
      {"opaque-ports reversed range",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/opaque-ports", "90-80"}};
       },
       "ends before it starts"},
      {"cpu request not a quantity",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/proxy-cpu-request", "lots"}};
       },
       "'lots' is not a Kubernetes quantity"},
      {"memory limit negative",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/proxy-memory-limit", "-1Gi"}};
       },
       "'-1Gi' is not a Kubernetes quantity"},
      {"log level unknown",
       [](json& p) {
         p["metadata"]["annotations"] = {{"config.weft.io/log-level", "verbose"}};
       },
       "'verbose' is not debug, info, warn or error"},
      {"app uses the proxy's inbound port",
       [](json& p) {
         p["spec"]["containers"][0]["ports"] = {{{"containerPort", 4143}}};
       },
       "container port 4143 is reserved for weft-proxy"},
      {"app uses the admin port in an init container",
       [](json& p) {
         p["spec"]["initContainers"] = {{{"name", "i"}, {"ports", {{{"containerPort", 4191}}}}}};
       },
       "container port 4191 is reserved"},
      {"volume name taken",
       [](json& p) {
         p["spec"]["volumes"] = {{{"name", "weft-identity-token"}, {"emptyDir", json::object()}}};
       },
       "already has a volume named weft-identity-token"},
      {"pod-info volume name taken",
       [](json& p) {
         p["spec"]["volumes"] = {{{"name", "weft-podinfo"}, {"emptyDir", json::object()}}};
       },
       "already has a volume named weft-podinfo"},
  };
}

}  // namespace

TEST_CASE("bodies that are not an AdmissionReview get HTTP 400 with the reason", "[bad-input]") {
  weft::Registry registry;
  std::ostringstream log;
  weft::Logger logger("webhook", weft::LogLevel::kInfo, weft::ostream_sink(log));
  weft::webhook::WebhookService service(native_config(), registry, logger);
  const auto cases = bad_bodies();
  for (const auto& bad : cases) {
    SECTION(bad.name) {
      const auto response =
          service.review({"POST", "/mutate", "", "application/json", bad.body, "", ""},
                         weft::webhook::Scope::kNamespaceEnabled);
      CHECK(response.status == 400);
      CHECK_THAT(response.body, Catch::Contains(bad.reason));
    }
  }
}

TEST_CASE("pods that cannot be injected are denied with the reason", "[bad-input]") {
  const auto cases = bad_pods();
  for (const auto& bad : cases) {
    SECTION(bad.name) {
      json pod = minimal_pod();
      bad.edit(pod);
      const auto request = weft::test::request_of(review_of(pod, bad.ns));
      const auto result =
          weft::webhook::mutate(request, native_config(), weft::webhook::Scope::kNamespaceEnabled);
      CHECK(result.result == weft::webhook::ReviewResult::kDenied);
      CHECK_FALSE(result.outcome.allowed);
      CHECK(result.outcome.denial_code == 400);
      CHECK(result.outcome.patch.empty());
      CHECK_THAT(result.outcome.denial_message, Catch::Contains(bad.reason));
      CHECK_THAT(result.outcome.denial_message, Catch::Contains("weft.io/inject: disabled"));
    }
  }
}

TEST_CASE("a review without an object is denied, not crashed on", "[bad-input]") {
  json review = review_of(minimal_pod());
  review["request"].erase("object");
  const auto result = weft::webhook::mutate(weft::test::request_of(review), native_config(),
                                            weft::webhook::Scope::kNamespaceEnabled);
  CHECK(result.result == weft::webhook::ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("no pod object"));
  review["request"]["object"] = "a pod";
  CHECK_THAT(weft::webhook::mutate(weft::test::request_of(review), native_config(),
                                   weft::webhook::Scope::kNamespaceEnabled)
                 .outcome.denial_message,
             Catch::Contains("not a JSON object"));
}

TEST_CASE("bad pods outside the injection scope are not denied", "[bad-input]") {
  // An opted-out pod or a system namespace is none of our business, whatever its shape.
  json pod = minimal_pod();
  pod["metadata"]["annotations"] = {{"weft.io/inject", "disabled"},
                                    {"config.weft.io/skip-subnets", "garbage"}};
  const auto opted_out =
      weft::webhook::mutate(weft::test::request_of(review_of(pod)), native_config(),
                            weft::webhook::Scope::kNamespaceEnabled);
  CHECK(opted_out.result == weft::webhook::ReviewResult::kSkipped);
  CHECK(opted_out.outcome.allowed);
}

TEST_CASE("badly shaped pods are not denied when opted out or in a system namespace",
          "[bad-input]") {
  json pod = minimal_pod();
  pod["spec"]["containers"] = "not a list";
  for (const char* ns : {"kube-system", "weft-system"}) {
    const auto system =
        weft::webhook::mutate(weft::test::request_of(review_of(pod, ns)), native_config(),
                              weft::webhook::Scope::kNamespaceEnabled);
    CHECK(system.result == weft::webhook::ReviewResult::kSkipped);
    CHECK(system.outcome.allowed);
  }
  pod["metadata"]["annotations"] = {{"weft.io/inject", "disabled"}};
  const auto opted_out =
      weft::webhook::mutate(weft::test::request_of(review_of(pod)), native_config(),
                            weft::webhook::Scope::kNamespaceEnabled);
  CHECK(opted_out.result == weft::webhook::ReviewResult::kSkipped);
  CHECK(opted_out.outcome.allowed);
  // The same pod opted in is denied with the reason.
  pod["metadata"]["annotations"] = {{"weft.io/inject", "enabled"}};
  CHECK(weft::webhook::mutate(weft::test::request_of(review_of(pod)), native_config(),
                              weft::webhook::Scope::kPodOptIn)
            .result == weft::webhook::ReviewResult::kDenied);
}

TEST_CASE("the service: method check, metrics by result, latency histogram", "[service]") {
  weft::Registry registry;
  std::ostringstream log;
  weft::Logger logger("webhook", weft::LogLevel::kInfo, weft::ostream_sink(log));
  weft::webhook::WebhookService service(native_config(), registry, logger);
  auto routes = service.routes();
  const auto get = routes.at("/mutate")({"GET", "/mutate", "", "", "", "", ""});
  CHECK(get.status == 405);

  const std::string good = review_of(minimal_pod()).dump();
  json bad_pod = minimal_pod();
  bad_pod["spec"]["containers"] = json::array();
  const auto ok = routes.at("/mutate")({"POST", "/mutate", "", "application/json", good, "", ""});
  CHECK(ok.status == 200);
  CHECK(ok.content_type == "application/json");
  CHECK(json::parse(ok.body)["response"]["allowed"] == true);
  routes.at("/mutate")(
      {"POST", "/mutate", "", "application/json", review_of(bad_pod).dump(), "", ""});
  routes.at("/mutate-opt-in")({"POST", "/mutate-opt-in", "", "application/json", good, "", ""});

  CHECK(routes.at("/readyz")({"GET", "/readyz", "", "", "", "", ""}).status == 503);
  service.set_ready(true);
  CHECK(routes.at("/readyz")({"GET", "/readyz", "", "", "", "", ""}).status == 200);
  CHECK(routes.at("/healthz")({"GET", "/healthz", "", "", "", "", ""}).status == 200);

  const auto metrics = routes.at("/metrics")({"GET", "/metrics", "", "", "", "", ""});
  CHECK(metrics.content_type == weft::kPrometheusContentType);
  CHECK_THAT(metrics.body, Catch::Contains("weft_webhook_reviews_total{result=\"injected\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("weft_webhook_reviews_total{result=\"denied\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("weft_webhook_reviews_total{result=\"skipped\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("weft_webhook_reviews_total{result=\"bad_request\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("weft_webhook_reviews_total{result=\"ignored\"} 0"));
  CHECK_THAT(metrics.body, Catch::Contains("weft_webhook_injections_total{mode=\"native\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("weft_webhook_review_duration_seconds_count 3"));
  CHECK_THAT(log.str(), Catch::Contains("\"result\":\"denied\""));
}
