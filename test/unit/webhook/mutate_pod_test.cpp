// Injector::mutate_pod, the entry point of `weftctl inject`: a pod's JSON gets
// the same outcome as the AdmissionReview of its CREATE.

#include <catch2/catch.hpp>

#include "review_fixtures.h"
#include "webhook/mutate.h"

using nlohmann::json;
using weft::test::classic_config;
using weft::test::deployment_review;
using weft::test::minimal_pod;
using weft::test::native_config;
using weft::test::request_of;
using weft::test::review_of;
using weft::webhook::Injector;
using weft::webhook::ReviewResult;
using weft::webhook::Scope;

TEST_CASE("mutate_pod gives a pod the outcome of the review of its CREATE", "[mutate_pod]") {
  json opted_in = minimal_pod();
  opted_in["metadata"]["annotations"] = {{"weft.io/inject", "enabled"}};
  json uid_clash = minimal_pod();
  uid_clash["spec"]["securityContext"] = {{"runAsUser", weft::kProxyUid}};
  json opted_out = minimal_pod();
  opted_out["metadata"]["annotations"] = {{"weft.io/inject", "disabled"}};
  const json pods[] = {deployment_review()["request"]["object"], minimal_pod(), opted_in, uid_clash,
                       opted_out};
  for (const auto& config : {native_config(), classic_config()}) {
    const Injector injector(config);
    for (const auto& pod : pods) {
      for (const auto scope : {Scope::kNamespaceEnabled, Scope::kPodOptIn}) {
        for (const std::string ns : {"shop", "kube-system"}) {
          const auto by_review = injector.mutate(request_of(review_of(pod, ns)), scope);
          const auto by_pod = injector.mutate_pod(pod, ns, scope);
          CHECK(by_pod.result == by_review.result);
          CHECK(by_pod.reason == by_review.reason);
          CHECK(by_pod.outcome.patch == by_review.outcome.patch);
          CHECK(by_pod.outcome.denial_message == by_review.outcome.denial_message);
        }
      }
    }
  }
}

TEST_CASE("mutate_pod injects an opted-in pod and leaves the result verified", "[mutate_pod]") {
  const Injector injector(native_config());
  json pod = minimal_pod();
  pod["metadata"]["annotations"] = {{"weft.io/inject", "enabled"}};
  const auto first = injector.mutate_pod(pod, "shop", Scope::kPodOptIn);
  REQUIRE(first.result == ReviewResult::kInjected);
  const json injected = pod.patch(json::parse(first.outcome.patch));
  // Injected once: the webhook sees the claim, verifies it, leaves it.
  const auto again = injector.mutate_pod(injected, "shop", Scope::kPodOptIn);
  CHECK(again.result == ReviewResult::kSkipped);
  CHECK(again.outcome.patch.empty());
}
