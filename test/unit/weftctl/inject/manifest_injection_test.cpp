// weftctl inject and uninject over the fixtures of testdata/inject: documents
// without a change come back byte for byte; a changed pod template equals, as
// JSON, what the webhook makes of a pod created from it (its AdmissionReview
// parsed and mutated as the webhook's HTTP handler does, the patch applied);
// injecting again changes nothing; uninject gives the input back.

#include "weftctl/inject/manifest_injection.h"

#include <catch2/catch.hpp>

#include "inject_testdata.h"
#include "webhook/admission.h"
#include "webhook/mutate.h"
#include "weftctl/inject/manifest_stream.h"

using nlohmann::json;
using namespace weft::ctl::inject;
using weft::Error;
using weft::Result;
using weft::webhook::InjectorConfig;
using weft::webhook::SidecarMode;

namespace {

InjectorConfig config_of(SidecarMode mode) {
  InjectorConfig config;
  config.sidecar_mode = mode;
  config.identity_address = "10.96.0.20:8443";
  return config;
}

// The oracle: the pod the webhook admits when a pod is created from this
// template (opted in by annotation, as inject does), through its HTTP path.
json webhook_pod(const json& pod_template, const std::string& ns, const InjectorConfig& config,
                 bool& injected) {
  json pod = pod_template;
  json& annotations = pod["metadata"]["annotations"];
  if (annotations.is_null()) annotations = json::object();
  if (!annotations.contains("weft.io/inject")) annotations["weft.io/inject"] = "enabled";
  const json review = {{"apiVersion", "admission.k8s.io/v1"},
                       {"kind", "AdmissionReview"},
                       {"request",
                        {{"uid", "u1"},
                         {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                         {"namespace", ns},
                         {"operation", "CREATE"},
                         {"object", pod}}}};
  auto request = weft::webhook::parse_admission_review(review.dump());
  REQUIRE(request);
  const auto result = weft::webhook::mutate(*request, config, weft::webhook::Scope::kPodOptIn);
  REQUIRE(result.result != weft::webhook::ReviewResult::kDenied);
  injected = result.result == weft::webhook::ReviewResult::kInjected;
  if (!injected) return pod_template;
  return pod.patch(json::parse(result.outcome.patch));
}

// Where the fixtures' kinds keep their pod template; written here again so the
// oracle does not share the code under test.
std::string template_pointer(const json& object) {
  const std::string kind = object.value("kind", "");
  const std::string api = object.value("apiVersion", "");
  if (api.find('/') != std::string::npos && !api.starts_with("apps/") &&
      !api.starts_with("batch/")) {
    return "none";
  }
  if (kind == "Pod") return "";
  if (kind == "CronJob") return "/spec/jobTemplate/spec/template";
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
      kind == "ReplicaSet" || kind == "Job" || kind == "ReplicationController") {
    return "/spec/template";
  }
  return "none";
}

enum class Expect { kAnnotate, kManual };

// The document as inject should write it.
json expected_document(const json& document, Expect expect, const InjectorConfig& config) {
  if (document.is_object() && document.value("kind", "").ends_with("List") &&
      document.contains("items")) {
    json result = document;
    for (auto& item : result["items"]) item = expected_document(item, expect, config);
    return result;
  }
  const std::string pointer = template_pointer(document);
  if (pointer == "none") return document;
  const json::json_pointer at(pointer);
  std::string ns = document["metadata"].value("namespace", "");
  if (ns.empty()) ns = "default";
  bool injected = false;
  json pod = webhook_pod(document.at(at), ns, config, injected);
  if (!injected) return document;
  json result = document;
  if (expect == Expect::kManual) {
    result[at] = pod;
  } else {
    json& annotations = result[at]["metadata"]["annotations"];
    if (annotations.is_null()) annotations = json::object();
    annotations["weft.io/inject"] = "enabled";
  }
  return result;
}

struct Documents {
  std::vector<std::string> texts;
  std::vector<json> values;  // null for pieces without content
};

Documents documents_of(const std::string& text) {
  Documents documents;
  std::vector<DocumentText> pieces;
  const StreamFormat format = detect_format(text);
  if (format == StreamFormat::kYaml) {
    pieces = split_yaml_stream(text);
  } else {
    auto split = split_json_stream(text);
    REQUIRE(split);
    pieces = *split;
  }
  for (const auto& piece : pieces) {
    documents.texts.push_back(piece.text());
    if (format == StreamFormat::kJson) {
      documents.values.push_back(piece.body.empty() ? json() : json::parse(piece.body));
      continue;
    }
    auto read = read_yaml_document(piece.text());
    REQUIRE(read);
    documents.values.push_back(json::parse(read->value.dump()));
  }
  return documents;
}

Result<StreamOutput> run(const std::string& name, const std::string& text, Expect expect,
                         const weft::webhook::Injector& injector) {
  const InjectMode mode = expect == Expect::kManual ? InjectMode::kManual : InjectMode::kAnnotate;
  return transform_manifests({{name, text}},
                             [&](const Json& pod, std::string_view ns) {
                               return inject_pod_template(pod, ns, mode, &injector);
                             },
                             {});
}

Result<StreamOutput> uninject(const std::string& text) {
  return transform_manifests({{"input", text}},
                             [](const Json& pod, std::string_view) -> Result<TemplateOutcome> {
                               return uninject_pod_template(pod);
                             },
                             {});
}

// Kubernetes reads a member set to null (`annotations:` with nothing after
// it) or to an empty object as absent; uninject leaves it absent.
json without_nulls(const json& value) {
  if (value.is_array()) {
    json list = json::array();
    for (const auto& item : value) list.push_back(without_nulls(item));
    return list;
  }
  if (!value.is_object()) return value;
  json object = json::object();
  for (const auto& [key, member] : value.items()) {
    if (member.is_null()) continue;
    json kept = without_nulls(member);
    if (!kept.is_object() || !kept.empty()) object[key] = std::move(kept);
  }
  return object;
}

bool has_opt_in_annotation(const std::string& text) {
  return text.find("weft.io/inject: enabled") != std::string::npos;
}

}  // namespace

TEST_CASE(
    "inject over real-world manifests: byte for byte, the webhook's pods, idempotent, "
    "reversible",
    "[inject][fixtures]") {
  const auto fixtures = weft::ctl::inject::test::manifest_fixtures();
  REQUIRE(fixtures.size() >= 20);
  std::size_t changed_documents = 0;
  std::size_t unchanged_documents = 0;
  for (const auto mode : {SidecarMode::kNative, SidecarMode::kClassic}) {
    const InjectorConfig config = config_of(mode);
    const weft::webhook::Injector injector(config);
    for (const auto expect : {Expect::kAnnotate, Expect::kManual}) {
      for (const auto& name : fixtures) {
        INFO(name << (expect == Expect::kManual ? " --manual" : " annotate-only")
                  << (mode == SidecarMode::kNative ? " native" : " classic"));
        const std::string input = weft::ctl::inject::test::read_testdata(name);
        auto output = run(name, input, expect, injector);
        REQUIRE(output);
        INFO(output->text);

        const Documents before = documents_of(input);
        const Documents after = documents_of(output->text);
        REQUIRE(after.texts.size() == before.texts.size());
        for (std::size_t i = 0; i < before.texts.size(); ++i) {
          INFO("piece " << i);
          const json expected = before.values[i].is_null()
                                    ? json()
                                    : expected_document(before.values[i], expect, config);
          CHECK(after.values[i] == expected);
          if (expected == before.values[i]) {
            CHECK(after.texts[i] == before.texts[i]);
            ++unchanged_documents;
          } else {
            ++changed_documents;
          }
        }

        // Idempotent, byte for byte; and in either order of the modes.
        auto again = run(name, output->text, expect, injector);
        REQUIRE(again);
        CHECK(again->text == output->text);
        auto other = run(name, output->text,
                         expect == Expect::kManual ? Expect::kAnnotate : Expect::kManual, injector);
        REQUIRE(other);
        if (expect == Expect::kManual) CHECK(other->text == output->text);

        // uninject reverses either form, as JSON; an input opted in already
        // loses its annotation too (documented).
        auto reversed = uninject(output->text);
        REQUIRE(reversed);
        const Documents back = documents_of(reversed->text);
        REQUIRE(back.values.size() == before.values.size());
        if (!has_opt_in_annotation(input)) {
          for (std::size_t i = 0; i < before.values.size(); ++i) {
            CHECK(without_nulls(back.values[i]) == without_nulls(before.values[i]));
          }
        }
        // uninject of an input with nothing to remove is the identity.
        if (!has_opt_in_annotation(input)) {
          auto untouched = uninject(input);
          REQUIRE(untouched);
          CHECK(untouched->text == input);
        }
      }
    }
  }
  // The fixtures exercise both paths.
  CHECK(changed_documents > 40);
  CHECK(unchanged_documents > 40);
}

TEST_CASE("every object gets a note; skipped ones say why", "[inject][fixtures]") {
  const weft::webhook::Injector injector(config_of(SidecarMode::kNative));
  const auto notes_of = [&](const std::string& name) {
    auto output =
        run(name, weft::ctl::inject::test::read_testdata(name), Expect::kManual, injector);
    REQUIRE(output);
    std::string all;
    for (const auto& note : output->notes) all += note + "\n";
    return all;
  };
  CHECK(notes_of("inject/09-daemonset-hostnetwork.yaml") ==
        "inject/09-daemonset-hostnetwork.yaml: document 1: DaemonSet monitoring/node-exporter: "
        "skipped: host-network pod (its traffic is the node's; capture would take it)\n");
  CHECK(notes_of("inject/14-opted-out.yaml")
            .find("skipped: pod annotation weft.io/inject=disabled") != std::string::npos);
  CHECK(notes_of("inject/15-kube-system.yaml").find("namespace kube-system is never injected") !=
        std::string::npos);
  const std::string unknown = notes_of("inject/17-argo-rollout-unknown.yaml");
  CHECK(
      unknown.find("document 1: Rollout shop/canary-demo: no pod template (argoproj.io/v1alpha1), "
                   "passed through unchanged") != std::string::npos);
  CHECK(unknown.find("document 2: Deployment not-apps: no pod template (example.com/v1)") !=
        std::string::npos);
  CHECK(notes_of("inject/04-kind-list.yaml") ==
        "inject/04-kind-list.yaml: document 1: Deployment shop/frontend: injected\n"
        "inject/04-kind-list.yaml: document 1: Service shop/frontend: no pod template (v1), "
        "passed through unchanged\n");
  CHECK(notes_of("inject/24-generate-name.yaml") ==
        "inject/24-generate-name.yaml: document 1: Job smoke-test-*: injected\n");
}

TEST_CASE("the namespace of objects without one is the default given", "[inject]") {
  const weft::webhook::Injector injector(config_of(SidecarMode::kNative));
  const std::string pod =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: "
      "b}\n";
  StreamOptions options;
  options.default_namespace = "weft-system";
  auto output = transform_manifests(
      {{"stdin", pod}},
      [&](const Json& p, std::string_view ns) {
        return inject_pod_template(p, ns, InjectMode::kManual, &injector);
      },
      options);
  REQUIRE(output);
  CHECK(output->text == pod);
  CHECK(output->notes[0].find("namespace weft-system is never injected") != std::string::npos);
}

TEST_CASE("errors name the input, the document and the line; nothing is returned",
          "[inject][errors]") {
  using weft::ctl::inject::test::read_testdata;
  const weft::webhook::Injector injector(config_of(SidecarMode::kNative));
  const auto error_of = [&](const std::string& name, Expect expect) {
    auto output = run(name, read_testdata(name), expect, injector);
    REQUIRE_FALSE(output);
    return output.error().message;
  };
  const std::string syntax = error_of("inject-errors/bad-indentation.yaml", Expect::kAnnotate);
  CHECK(syntax.starts_with("inject-errors/bad-indentation.yaml: document 2 (line 1"));
  INFO(syntax);
  CHECK(syntax.find("(line 17") != std::string::npos);

  const std::string denied = error_of("inject-errors/proxy-uid.yaml", Expect::kManual);
  CHECK(denied.starts_with(
      "inject-errors/proxy-uid.yaml: document 2 (line 14): Deployment shop/runs-as-proxy: "
      "weft-webhook cannot inject the proxy into this pod: "));
  CHECK(denied.find("2102") != std::string::npos);

  const std::string typo = error_of("inject-errors/bad-annotation.yaml", Expect::kAnnotate);
  CHECK(
      typo.starts_with("inject-errors/bad-annotation.yaml: document 1 (line 1): Pod shop/typo: "
                       "annotation weft.io/inject must be 'enabled' or 'disabled', not 'enabeld'"));

  const std::string json_error = error_of("inject-errors/bad-value.json", Expect::kAnnotate);
  CHECK(json_error.starts_with("inject-errors/bad-value.json: line 2: "));

  const std::string no_template = error_of("inject-errors/no-template.yaml", Expect::kAnnotate);
  CHECK(no_template ==
        "inject-errors/no-template.yaml: document 1 (line 7): Deployment shop/no-template has no "
        "pod template at /spec/template");
}

TEST_CASE("streams are joined with --- between YAML inputs", "[inject]") {
  auto output = transform_manifests(
      {{"a", "a: 1"}, {"b", "b: 2\n"}, {"c", "---\nc: 3\n"}},
      [](const Json&, std::string_view) -> Result<TemplateOutcome> { return Error{"unused"}; }, {});
  REQUIRE(output);
  CHECK(output->text == "a: 1\n---\nb: 2\n---\nc: 3\n");
}

TEST_CASE("a document kubectl would read otherwise is refused, naming its line",
          "[inject][errors]") {
  const weft::webhook::Injector injector(config_of(SidecarMode::kNative));
  // kubectl applies the merge in document order: a Deployment, not a ConfigMap.
  const std::string sneaky =
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "<<: {apiVersion: apps/v1, kind: Deployment}\n"
      "metadata: {name: sneaky}\n"
      "spec:\n"
      "  selector: {matchLabels: {app: s}}\n"
      "  template:\n"
      "    metadata: {labels: {app: s}}\n"
      "    spec: {containers: [{name: c, image: busybox}]}\n";
  auto merged = run("sneaky.yaml", sneaky, Expect::kAnnotate, injector);
  REQUIRE_FALSE(merged);
  CHECK_THAT(merged.error().message,
             Catch::StartsWith("sneaky.yaml: document 1 (line 3): the merge key (<<) sets"));

  // kubectl decodes !!binary: apps/v1.
  const std::string binary =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
      "apiVersion: !!binary YXBwcy92MQ==\n"
      "kind: Deployment\n";
  auto tagged = run("binary.yaml", binary, Expect::kAnnotate, injector);
  REQUIRE_FALSE(tagged);
  CHECK_THAT(tagged.error().message, Catch::StartsWith("binary.yaml: document 2 (line 5): the tag "
                                                       "'tag:yaml.org,2002:binary' is refused"));
}

TEST_CASE("JSON nesting deeper than YAML's limit is an error, not a crash", "[inject][errors]") {
  const weft::webhook::Injector injector(config_of(SidecarMode::kNative));
  constexpr std::size_t kLevels = 300'000;
  const std::string deep = R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},)"
                           "\n"
                           R"("spec": )" +
                           std::string(kLevels, '[') + std::string(kLevels, ']') + "}\n";
  auto output = run("deep.json", deep, Expect::kAnnotate, injector);
  REQUIRE_FALSE(output);
  CHECK(output.error().message ==
        "deep.json: document 1 (line 1): the document nests deeper than 200 levels");
  // The limit itself: 200 levels pass.
  const std::string at_limit = R"({"apiVersion": "v1", "kind": "ConfigMap", "data": )" +
                               std::string(199, '[') + std::string(199, ']') + "}\n";
  CHECK(run("ok.json", at_limit, Expect::kAnnotate, injector));
}
