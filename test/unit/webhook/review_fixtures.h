#pragma once

// AdmissionReviews for the webhook's unit tests: a captured-shape review from
// testdata/, and small builders for the variations.

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "review_oracle.h"
#include "webhook/admission.h"
#include "webhook/config.h"
#include "webhook/mutate.h"

namespace weft::test {

inline std::string read_testdata(const std::string& name) {
  std::ifstream in(std::string(WEFT_WEBHOOK_TESTDATA) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The captured review of a Deployment's pod in namespace "shop".
inline nlohmann::json deployment_review() {
  return nlohmann::json::parse(read_testdata("deployment-pod-review.json"));
}

// A minimal pod: one container "app".
inline nlohmann::json minimal_pod() {
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "p"}, {"namespace", "shop"}}},
      {"spec", {{"containers", nlohmann::json::array({{{"name", "app"}, {"image", "busybox"}}})}}}};
}

inline nlohmann::json review_of(const nlohmann::json& pod, const std::string& ns = "shop",
                                const std::string& operation = "CREATE") {
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "uid-1"},
            {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
            {"namespace", ns},
            {"operation", operation},
            {"object", pod}}}};
}

// Also checks the parse against the whole-document oracle on this review, so
// every review a test makes is a comparison of the two.
inline webhook::AdmissionRequest request_of(const nlohmann::json& review) {
  const std::string body = review.dump();
  CHECK(differences_from_whole_parse(body) == "");
  auto parsed = webhook::parse_admission_review(body);
  if (!parsed) throw std::runtime_error("fixture does not parse: " + parsed.error().message);
  return *parsed;
}

inline webhook::InjectorConfig native_config() {
  webhook::InjectorConfig config;
  config.sidecar_mode = webhook::SidecarMode::kNative;
  return config;
}

inline webhook::InjectorConfig classic_config() {
  webhook::InjectorConfig config;
  config.sidecar_mode = webhook::SidecarMode::kClassic;
  return config;
}

// The webhook's answer to the CREATE of `pod` in namespace "shop".
inline webhook::MutateResult review(const nlohmann::json& pod,
                                    const webhook::InjectorConfig& config = native_config(),
                                    webhook::Scope scope = webhook::Scope::kNamespaceEnabled) {
  return webhook::mutate(request_of(review_of(pod)), config, scope);
}

}  // namespace weft::test
