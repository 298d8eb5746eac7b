// libFuzzer target: the AdmissionReview reader and the patch builder, on any
// bytes. Beyond "no crash, no sanitizer report", it checks what the webhook
// promises:
// - parse_admission_review (nlohmann SAX, only what the webhook reads kept)
//   decodes the same request and pod facts, or the same error, as the whole
//   body parsed by nlohmann and walked the same way
//   (test/unit/webhook/review_oracle.h), and refuses for depth or a repeated key
//   only when it should;
// - an injected pod's patch applies to the pod (RFC 6902) and leaves weft-proxy
//   and weft-init there exactly once; a second review of the patched pod adds
//   nothing.
//
// Built with clang by build.sh (the main build uses g++); see docs/webhook.md.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "test/unit/webhook/review_oracle.h"
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

void check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "check failed: %s\n", what);
  std::abort();
}

// The review again, with the pod replaced: what a reinvocation would send.
std::string review_with_object(const AdmissionRequest& request, const json& object) {
  return json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", request.uid},
                {"kind",
                 {{"group", request.kind_group},
                  {"version", request.kind_version},
                  {"kind", request.kind}}},
                {"subResource", request.sub_resource},
                {"operation", request.operation},
                {"namespace", request.namespace_name},
                {"name", request.name},
                {"object", object}}}}
      .dump();
}

void exercise(const AdmissionRequest& request, const json& pod, const Injector& injector,
              Scope scope) {
  const MutateResult result = injector.mutate(request, scope);
  check(!admission_response(request.uid, result.outcome).empty(), "a response");
  if (result.result != ReviewResult::kInjected) {
    check(result.outcome.patch.empty(), "no patch unless injected");
    return;
  }
  check(result.outcome.allowed, "injected means allowed");
  json patched;
  try {
    patched = pod.patch(json::parse(result.outcome.patch));
  } catch (const json::exception&) {
    check(false, "the patch applies to the pod");  // the API server would refuse it
  }
  check(count_named(patched, "weft-proxy") == 1, "weft-proxy exactly once");
  check(count_named(patched, "weft-init") == 1, "weft-init exactly once");
  auto again = parse_admission_review(review_with_object(request, patched));
  check(again.has_value(), "the patched review parses");
  check(injector.mutate(*again, scope).outcome.patch.empty(), "reinvocation adds nothing");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::string difference = weft::test::differences_from_whole_parse(body);
  if (!difference.empty()) {
    std::fprintf(stderr, "differs from the whole-document parse: %s\n", difference.c_str());
    std::abort();
  }
  auto request = parse_admission_review(body);
  if (!request) {
    check(!request.error().message.empty(), "an error says why");
    return 0;
  }
  // The pod as the API server holds it, to apply the patch to.
  const json pod = json::parse(body, nullptr, false)["request"]["object"];
  static const Injector native = [] {
    InjectorConfig config;
    config.sidecar_mode = SidecarMode::kNative;
    return Injector(config);
  }();
  static const Injector classic = [] {
    InjectorConfig config;
    config.sidecar_mode = SidecarMode::kClassic;
    return Injector(config);
  }();
  for (const auto scope : {Scope::kNamespaceEnabled, Scope::kPodOptIn}) {
    exercise(*request, pod, native, scope);
    exercise(*request, pod, classic, scope);
  }
  return 0;
}
