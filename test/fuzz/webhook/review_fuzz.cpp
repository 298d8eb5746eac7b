// libFuzzer target: the AdmissionReview parser and the patch builder, on any
// bytes. Beyond "no crash, no sanitizer report", it checks what the webhook
// promises: a review either fails to parse (HTTP 400) or gets an answer; an
// injected pod's patch applies to the pod (RFC 6902) and leaves weft-proxy and
// weft-init there exactly once; a second review of the patched pod adds nothing.
//
// Built with clang by build.sh (the main build uses g++); see docs/webhook.md.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "webhook/admission.h"
#include "webhook/mutate.h"

namespace {

using nlohmann::json;
using namespace weft::webhook;

int count_named(const json& pod, std::string_view name) {
  int count = 0;
  for (const char* list : {"containers", "initContainers"}) {
    const auto& spec = pod["spec"];
    if (!spec.contains(list)) continue;
    for (const auto& container : spec[list]) count += container.value("name", "") == name ? 1 : 0;
  }
  return count;
}

void check(bool condition) {
  if (!condition) std::abort();
}

void exercise(const AdmissionRequest& request, const InjectorConfig& config, Scope scope) {
  const MutateResult result = mutate(request, config, scope);
  const std::string response = admission_response(request.uid, result.outcome);
  check(!response.empty());
  if (result.result != ReviewResult::kInjected) {
    check(result.outcome.patch.is_null());
    return;
  }
  check(result.outcome.allowed && result.outcome.patch.is_array());
  json patched;
  try {
    patched = request.object.patch(result.outcome.patch);
  } catch (const json::exception&) {
    std::abort();  // the API server would refuse our patch
  }
  check(count_named(patched, "weft-proxy") == 1);
  check(count_named(patched, "weft-init") == 1);
  AdmissionRequest again = request;
  again.object = std::move(patched);
  check(mutate(again, config, scope).outcome.patch.is_null());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = parse_admission_review(body);
  if (!request) {
    check(!request.error().message.empty());
    return 0;
  }
  static const InjectorConfig native = [] {
    InjectorConfig config;
    config.sidecar_mode = SidecarMode::kNative;
    return config;
  }();
  static const InjectorConfig classic = [] {
    InjectorConfig config;
    config.sidecar_mode = SidecarMode::kClassic;
    return config;
  }();
  for (const auto scope : {Scope::kNamespaceEnabled, Scope::kPodOptIn}) {
    exercise(*request, native, scope);
    exercise(*request, classic, scope);
  }
  return 0;
}
