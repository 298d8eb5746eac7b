// For injected_env_test.py: the webhook's real mutation of a pod, and the
// environment it gives weft-proxy. Reads an AdmissionReview on stdin, runs the
// injector with the built-in configuration (native sidecars), applies the patch
// to the pod and prints the weft-proxy container's env list as JSON; a denied
// or skipped pod exits 1 with the reason.

#include <iostream>
#include <iterator>
#include <string>

#include "webhook/admission.h"
#include "webhook/mutate.h"

int main() {
  using nlohmann::json;
  const std::string body{std::istreambuf_iterator<char>(std::cin), {}};
  auto request = weft::webhook::parse_admission_review(body);
  if (!request) {
    std::cerr << "bad review: " << request.error().message << "\n";
    return 2;
  }
  weft::webhook::InjectorConfig config;
  config.sidecar_mode = weft::webhook::SidecarMode::kNative;
  const auto result =
      weft::webhook::Injector(config).mutate(*request, weft::webhook::Scope::kNamespaceEnabled);
  if (result.result != weft::webhook::ReviewResult::kInjected) {
    std::cerr << to_string(result.result) << ": " << result.reason << "\n";
    return 1;
  }
  const json pod = json::parse(body)["request"]["object"].patch(json::parse(result.outcome.patch));
  for (const auto& container : pod["spec"]["initContainers"]) {
    if (container["name"] == "weft-proxy") {
      std::cout << container["env"].dump() << "\n";
      return 0;
    }
  }
  std::cerr << "no weft-proxy in the patched pod\n";
  return 1;
}
