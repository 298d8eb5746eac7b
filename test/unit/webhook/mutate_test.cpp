#include "webhook/mutate.h"

#include <catch2/catch.hpp>
#include <map>

#include "review_fixtures.h"
#include "weft/base64.h"

using nlohmann::json;
using weft::test::classic_config;
using weft::test::deployment_review;
using weft::test::minimal_pod;
using weft::test::native_config;
using weft::test::request_of;
using weft::test::review_of;
using weft::webhook::mutate;
using weft::webhook::ReviewResult;
using weft::webhook::Scope;

namespace {

// The pod as the API server stores it after applying the patch (RFC 6902).
json patched(const json& pod, const weft::webhook::MutateResult& result) {
  REQUIRE_FALSE(result.outcome.patch.empty());
  const json patch = json::parse(result.outcome.patch);
  REQUIRE(patch.is_array());
  return pod.patch(patch);
}

const json& container_named(const json& list, const std::string& name) {
  for (const auto& container : list) {
    if (container["name"] == name) return container;
  }
  FAIL("no container " << name);
  static const json none;
  return none;
}

int count_named(const json& pod, const std::string& name) {
  int count = 0;
  for (const char* list : {"containers", "initContainers"}) {
    if (!pod["spec"].contains(list)) continue;
    for (const auto& container : pod["spec"][list]) count += container["name"] == name ? 1 : 0;
  }
  return count;
}

}  // namespace

TEST_CASE("a Deployment's pod in an enabled namespace gets native-sidecar injection", "[mutate]") {
  const json review = deployment_review();
  const auto result = mutate(request_of(review), native_config(), Scope::kNamespaceEnabled);
  REQUIRE(result.result == ReviewResult::kInjected);
  CHECK(result.outcome.allowed);
  const json pod = patched(review["request"]["object"], result);

  const auto& init = pod["spec"]["initContainers"];
  REQUIRE(init.size() == 2);
  CHECK(init[0]["name"] == "weft-init");
  CHECK(init[1]["name"] == "weft-proxy");
  CHECK(pod["spec"]["containers"].size() == 1);
  CHECK(pod["spec"]["containers"][0]["name"] == "web");

  const json& proxy = init[1];
  CHECK(proxy["restartPolicy"] == "Always");
  CHECK(proxy["startupProbe"]["httpGet"]["path"] == "/ready");
  CHECK(proxy["startupProbe"]["httpGet"]["port"] == weft::kProxyAdminPort);
  CHECK_FALSE(proxy.contains("lifecycle"));
  const json& security = proxy["securityContext"];
  CHECK(security["runAsUser"] == weft::kProxyUid);
  CHECK(security["runAsNonRoot"] == true);
  CHECK(security["readOnlyRootFilesystem"] == true);
  CHECK(security["allowPrivilegeEscalation"] == false);
  CHECK(security["capabilities"]["drop"] == json::array({"ALL"}));
  CHECK(proxy["resources"]["requests"]["cpu"] == "100m");
  CHECK(proxy["resources"]["limits"]["memory"] == "256Mi");
  const json expected_env_refs = {{"WEFT_PROXY_POD_NAME", "metadata.name"},
                                  {"WEFT_PROXY_POD_NAMESPACE", "metadata.namespace"},
                                  {"WEFT_PROXY_SERVICE_ACCOUNT", "spec.serviceAccountName"}};
  for (const auto& [name, path] : expected_env_refs.items()) {
    bool found = false;
    for (const auto& env : proxy["env"]) {
      if (env["name"] == name) found = env["valueFrom"]["fieldRef"]["fieldPath"] == path;
    }
    CHECK(found);
  }
  bool config_mounted = false;
  for (const auto& mount : proxy["volumeMounts"]) {
    if (mount["mountPath"] == weft::kProxyConfigMountPath)
      config_mounted = mount["readOnly"] == true;
  }
  CHECK(config_mounted);

  const json& init_security = init[0]["securityContext"];
  CHECK(init_security["capabilities"]["add"] == json::array({"NET_ADMIN", "NET_RAW"}));
  CHECK(init_security["capabilities"]["drop"] == json::array({"ALL"}));
  CHECK(init_security["readOnlyRootFilesystem"] == true);

  // The existing volume stays first; ours follow. No volume for key material:
  // the proxy keeps its key and certificate in memory.
  const auto& volumes = pod["spec"]["volumes"];
  REQUIRE(volumes.size() == 5);
  CHECK(volumes[0]["name"] == "kube-api-access-7xk2p");
  CHECK(volumes[1]["configMap"]["name"] == "weft-proxy-config");
  const auto& token = volumes[2]["projected"]["sources"][0]["serviceAccountToken"];
  CHECK(token["audience"] == weft::kIdentityTokenAudience);
  CHECK(token["path"] == weft::kIdentityTokenFile);
  CHECK(volumes[3]["name"] == "weft-xtables-lock");
  // The pod's labels for the proxy, by the downward API, at the path its env names.
  CHECK(volumes[4]["name"] == "weft-podinfo");
  CHECK(volumes[4]["downwardAPI"]["items"] ==
        json::array({{{"path", "labels"}, {"fieldRef", {{"fieldPath", "metadata.labels"}}}}}));
  bool labels_mounted = false;
  for (const auto& mount : proxy["volumeMounts"]) {
    labels_mounted |=
        mount["name"] == "weft-podinfo" && mount["mountPath"] == "/var/run/weft/podinfo";
  }
  CHECK(labels_mounted);
  bool labels_env = false;
  for (const auto& variable : proxy["env"]) {
    labels_env |= variable["name"] == "WEFT_PROXY_POD_LABELS_FILE" &&
                  variable["value"] == "/var/run/weft/podinfo/labels";
  }
  CHECK(labels_env);
  for (const auto& mount : proxy["volumeMounts"]) CHECK(mount["readOnly"] == true);

  const auto& annotations = pod["metadata"]["annotations"];
  CHECK(annotations["kubectl.kubernetes.io/restartedAt"] == "2026-11-26T07:00:00Z");
  CHECK(annotations["weft.io/injected"] == "weft-init,weft-proxy");
  CHECK(annotations["weft.io/sidecar-mode"] == "native");
  CHECK(annotations["weft.io/proxy-version"] == "v0.1.0");
}

TEST_CASE("reinvocation on an injected pod yields no patch", "[mutate][idempotent]") {
  for (const auto& config : {native_config(), classic_config()}) {
    const json review = deployment_review();
    const auto first = mutate(request_of(review), config, Scope::kNamespaceEnabled);
    REQUIRE(first.result == ReviewResult::kInjected);
    json again = review;
    again["request"]["object"] = patched(review["request"]["object"], first);
    const auto second = mutate(request_of(again), config, Scope::kNamespaceEnabled);
    CHECK(second.result == ReviewResult::kSkipped);
    CHECK(second.reason == "already injected");
    CHECK(second.outcome.allowed);
    CHECK(second.outcome.patch.empty());
    CHECK(count_named(again["request"]["object"], "weft-proxy") == 1);
    CHECK(count_named(again["request"]["object"], "weft-init") == 1);
  }
}

TEST_CASE("classic mode puts the proxy first among containers with a start-up wait", "[mutate]") {
  const json pod = minimal_pod();
  const auto result =
      mutate(request_of(review_of(pod)), classic_config(), Scope::kNamespaceEnabled);
  REQUIRE(result.result == ReviewResult::kInjected);
  const json out = patched(pod, result);
  REQUIRE(out["spec"]["containers"].size() == 2);
  const json& proxy = out["spec"]["containers"][0];
  CHECK(proxy["name"] == "weft-proxy");
  CHECK(proxy["lifecycle"]["postStart"]["exec"]["command"] ==
        json::array({"/weft-proxy", "wait-ready"}));
  CHECK_FALSE(proxy.contains("restartPolicy"));
  CHECK(out["spec"]["containers"][1]["name"] == "app");
  REQUIRE(out["spec"]["initContainers"].size() == 1);
  CHECK(out["spec"]["initContainers"][0]["name"] == "weft-init");
  CHECK(out["metadata"]["annotations"]["weft.io/sidecar-mode"] == "classic");
}

TEST_CASE("existing init containers run after weft-init and the native proxy", "[mutate]") {
  json pod = minimal_pod();
  pod["spec"]["initContainers"] = json::array({{{"name", "migrate"}, {"image", "x"}}});
  const auto result = mutate(request_of(review_of(pod)), native_config(), Scope::kNamespaceEnabled);
  const json out = patched(pod, result);
  const auto& init = out["spec"]["initContainers"];
  REQUIRE(init.size() == 3);
  CHECK(init[0]["name"] == "weft-init");
  CHECK(init[1]["name"] == "weft-proxy");
  CHECK(init[2]["name"] == "migrate");
}

TEST_CASE("a pod without annotations or volumes gets them created", "[mutate]") {
  const json pod = minimal_pod();
  const auto result = mutate(request_of(review_of(pod)), native_config(), Scope::kNamespaceEnabled);
  const json out = patched(pod, result);
  CHECK(out["metadata"]["annotations"]["weft.io/injected"] == "weft-init,weft-proxy");
  CHECK(out["spec"]["volumes"].size() == 4);  // config, token, xtables lock, pod info

  json no_metadata = minimal_pod();
  no_metadata.erase("metadata");
  const auto bare =
      mutate(request_of(review_of(no_metadata)), native_config(), Scope::kNamespaceEnabled);
  CHECK(patched(no_metadata, bare)["metadata"]["annotations"]["weft.io/proxy-version"] == "v0.1.0");
}

TEST_CASE("config.weft.io annotations override the configuration", "[mutate]") {
  json pod = minimal_pod();
  pod["metadata"]["annotations"] = {{"config.weft.io/skip-inbound-ports", "22,9000-9010"},
                                    {"config.weft.io/skip-outbound-ports", "5432"},
                                    {"config.weft.io/skip-subnets", "10.96.0.0/12"},
                                    {"config.weft.io/proxy-cpu-request", "250m"},
                                    {"config.weft.io/proxy-memory-limit", "1Gi"},
                                    {"config.weft.io/log-level", "debug"},
                                    {"config.weft.io/opaque-ports", "3306"},
                                    {"config.weft.io/proxy-cpu-limt", "2"}};
  auto config = native_config();
  config.skip_subnets = {{0xa9fea9fe, 32}};  // cluster-wide: 169.254.169.254/32
  // A /12 is wider than a pod may skip on its own: the cluster allows it.
  config.pod_skip_allowed_subnets = {{0x0a600000, 12}};
  const auto result = mutate(request_of(review_of(pod)), config, Scope::kNamespaceEnabled);
  REQUIRE(result.result == ReviewResult::kInjected);
  const json out = patched(pod, result);
  const json& init = container_named(out["spec"]["initContainers"], "weft-init");
  CHECK(init["args"] ==
        json::array({"--proxy-uid", "2102", "--inbound-port", "4143", "--outbound-port", "4140",
                     "--admin-port", "4191", "--skip-inbound-ports", "22,9000-9010",
                     "--skip-outbound-ports", "5432", "--skip-subnets",
                     "169.254.169.254/32,10.96.0.0/12"}));
  const json& proxy = container_named(out["spec"]["initContainers"], "weft-proxy");
  CHECK(proxy["resources"]["requests"]["cpu"] == "250m");
  CHECK(proxy["resources"]["requests"]["memory"] == "64Mi");
  CHECK(proxy["resources"]["limits"]["memory"] == "1Gi");
  bool debug = false;
  bool opaque = false;
  for (const auto& env : proxy["env"]) {
    if (env["name"] == "WEFT_PROXY_LOG_LEVEL") debug = env["value"] == "debug";
    if (env["name"] == "WEFT_PROXY_OPAQUE_PORTS") opaque = env["value"] == "3306";
  }
  CHECK(debug);
  CHECK(opaque);
  // The typo is not silently dropped.
  REQUIRE(result.outcome.warnings.size() == 1);
  CHECK_THAT(result.outcome.warnings[0], Catch::Contains("config.weft.io/proxy-cpu-limt"));
}

TEST_CASE("images, ports and UID come from the configuration", "[mutate]") {
  auto config = native_config();
  config.proxy_image = "registry.local/proxy:dev";
  config.init_image = "registry.local/init:dev";
  config.proxy_version = "dev-123";
  config.inbound_port = 15006;
  config.outbound_port = 15001;
  config.admin_port = 15020;
  config.proxy_uid = 1337;
  config.ready_path = "/healthz/ready";
  const json pod = minimal_pod();
  const json out =
      patched(pod, mutate(request_of(review_of(pod)), config, Scope::kNamespaceEnabled));
  const json& proxy = container_named(out["spec"]["initContainers"], "weft-proxy");
  const json& init = container_named(out["spec"]["initContainers"], "weft-init");
  CHECK(proxy["image"] == "registry.local/proxy:dev");
  CHECK(init["image"] == "registry.local/init:dev");
  CHECK(proxy["securityContext"]["runAsUser"] == 1337);
  CHECK(proxy["startupProbe"]["httpGet"] == json{{"path", "/healthz/ready"}, {"port", 15020}});
  CHECK(init["args"][1] == "1337");
  CHECK(init["args"][3] == "15006");
  CHECK(init["args"][5] == "15001");
  CHECK(out["metadata"]["annotations"]["weft.io/proxy-version"] == "dev-123");
}

TEST_CASE("the proxy is told where to get its certificate and with which token", "[mutate]") {
  const auto env_of = [](const weft::webhook::InjectorConfig& config) {
    const json pod = minimal_pod();
    const json out =
        patched(pod, mutate(request_of(review_of(pod)), config, Scope::kNamespaceEnabled));
    std::map<std::string, std::string> values;
    for (const auto& env : container_named(out["spec"]["initContainers"], "weft-proxy")["env"]) {
      if (env.contains("value")) values[env["name"]] = env["value"];
    }
    return values;
  };
  auto values = env_of(native_config());
  CHECK(values["WEFT_PROXY_IDENTITY_ADDRESS"] == "weft-identity.weft-system.svc:8443");
  CHECK(values["WEFT_PROXY_IDENTITY_TOKEN_FILE"] == "/var/run/weft/identity/token");
  auto config = native_config();
  config.identity_address = "identity.example:9443";
  CHECK(env_of(config)["WEFT_PROXY_IDENTITY_ADDRESS"] == "identity.example:9443");
}

TEST_CASE("the decision: namespace, annotations, system namespaces, host network", "[decision]") {
  const auto result_for = [](json pod, const std::string& ns, Scope scope) {
    return mutate(request_of(review_of(pod, ns)), native_config(), scope);
  };
  json plain = minimal_pod();
  json enabled = minimal_pod();
  enabled["metadata"]["annotations"] = {{"weft.io/inject", "enabled"}};
  json disabled = minimal_pod();
  disabled["metadata"]["annotations"] = {{"weft.io/inject", "disabled"}};
  json host = enabled;
  host["spec"]["hostNetwork"] = true;

  CHECK(result_for(plain, "shop", Scope::kNamespaceEnabled).result == ReviewResult::kInjected);
  CHECK(result_for(plain, "shop", Scope::kPodOptIn).result == ReviewResult::kSkipped);
  CHECK(result_for(enabled, "other", Scope::kPodOptIn).result == ReviewResult::kInjected);
  CHECK(result_for(disabled, "shop", Scope::kNamespaceEnabled).result == ReviewResult::kSkipped);
  CHECK(result_for(disabled, "shop", Scope::kNamespaceEnabled).reason ==
        "pod annotation weft.io/inject=disabled");
  for (const char* ns : {"kube-system", "weft-system"}) {
    const auto never = result_for(enabled, ns, Scope::kNamespaceEnabled);
    CHECK(never.result == ReviewResult::kSkipped);
    CHECK(never.outcome.patch.empty());
    CHECK(result_for(enabled, ns, Scope::kPodOptIn).result == ReviewResult::kSkipped);
  }
  CHECK(result_for(host, "shop", Scope::kNamespaceEnabled).result == ReviewResult::kSkipped);
  CHECK_THAT(result_for(host, "shop", Scope::kPodOptIn).reason, Catch::Contains("host-network"));
}

TEST_CASE("dryRun reviews get the same answer (no side effects to skip)", "[mutate]") {
  json review = deployment_review();
  const auto wet = mutate(request_of(review), native_config(), Scope::kNamespaceEnabled);
  review["request"]["dryRun"] = true;
  const auto request = request_of(review);
  CHECK(request.dry_run);
  const auto dry = mutate(request, native_config(), Scope::kNamespaceEnabled);
  CHECK(dry.outcome.patch == wet.outcome.patch);
}

TEST_CASE("non-pod kinds and non-CREATE operations pass unchanged", "[mutate]") {
  json review = review_of(minimal_pod());
  review["request"]["kind"] = {{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}};
  const auto deployment = mutate(request_of(review), native_config(), Scope::kNamespaceEnabled);
  CHECK(deployment.result == ReviewResult::kIgnored);
  CHECK(deployment.outcome.allowed);
  REQUIRE(deployment.outcome.warnings.size() == 1);
  CHECK_THAT(deployment.outcome.warnings[0], Catch::Contains("only mutates pods"));

  const auto update = mutate(request_of(review_of(minimal_pod(), "shop", "UPDATE")),
                             native_config(), Scope::kNamespaceEnabled);
  CHECK(update.result == ReviewResult::kIgnored);
  CHECK(update.outcome.patch.empty());

  json ephemeral = review_of(minimal_pod());
  ephemeral["request"]["subResource"] = "ephemeralcontainers";
  CHECK(mutate(request_of(ephemeral), native_config(), Scope::kNamespaceEnabled).result ==
        ReviewResult::kIgnored);
}

TEST_CASE("the AdmissionReview response carries the uid and a base64 JSON patch", "[admission]") {
  const json review = deployment_review();
  const auto request = request_of(review);
  const auto result = mutate(request, native_config(), Scope::kNamespaceEnabled);
  const json response = json::parse(weft::webhook::admission_response(request.uid, result.outcome));
  CHECK(response["apiVersion"] == "admission.k8s.io/v1");
  CHECK(response["kind"] == "AdmissionReview");
  CHECK(response["response"]["uid"] == "0df28fbd-5f5f-11e8-bc74-36e6bb280816");
  CHECK(response["response"]["allowed"] == true);
  CHECK(response["response"]["patchType"] == "JSONPatch");
  const auto decoded = weft::base64_decode(response["response"]["patch"].get<std::string>());
  REQUIRE(decoded);
  CHECK(*decoded == result.outcome.patch);

  weft::webhook::AdmissionOutcome denied;
  denied.allowed = false;
  denied.denial_code = 400;
  denied.denial_message = "no";
  const json refusal = json::parse(weft::webhook::admission_response("u", denied));
  CHECK(refusal["response"]["allowed"] == false);
  CHECK(refusal["response"]["status"] == json{{"code", 400}, {"message", "no"}});
  CHECK_FALSE(refusal["response"].contains("patch"));

  weft::webhook::AdmissionOutcome unchanged;
  const json skip = json::parse(weft::webhook::admission_response("u", unchanged));
  CHECK(skip["response"] == json{{"uid", "u"}, {"allowed", true}});
}

TEST_CASE("JSON pointer escaping", "[mutate]") {
  CHECK(weft::webhook::escape_json_pointer("weft.io/injected") == "weft.io~1injected");
  CHECK(weft::webhook::escape_json_pointer("a~b/c") == "a~0b~1c");
}
