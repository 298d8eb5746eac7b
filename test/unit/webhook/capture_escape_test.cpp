// A pod author cannot leave the mesh unseen: reserved container names, the
// injection seal, the skip policy, the proxy's UID, and the opt-outs counted.

#include <algorithm>
#include <catch2/catch.hpp>

#include "review_fixtures.h"
#include "webhook/mutate.h"

using nlohmann::json;
using weft::test::classic_config;
using weft::test::deployment_review;
using weft::test::minimal_pod;
using weft::test::native_config;
using weft::test::request_of;
using weft::test::review;
using weft::test::review_of;
using weft::webhook::InjectorConfig;
using weft::webhook::MutateResult;
using weft::webhook::OptOut;
using weft::webhook::ReviewResult;
using weft::webhook::Scope;

namespace {

json annotated(json pod, const std::string& key, const std::string& value) {
  pod["metadata"]["annotations"][key] = value;
  return pod;
}

json injected(const json& pod, const InjectorConfig& config = native_config()) {
  const auto result = review(pod, config);
  REQUIRE(result.result == ReviewResult::kInjected);
  return pod.patch(json::parse(result.outcome.patch));
}

json& container_named(json& pod, const std::string& name) {
  for (const char* list : {"initContainers", "containers"}) {
    if (!pod["spec"].contains(list)) continue;
    for (auto& container : pod["spec"][list]) {
      if (container["name"] == name) return container;
    }
  }
  FAIL("no container " << name);
  static json none;
  return none;
}

// What the API server adds to the patched pod before a reinvocation: the
// defaults of every container, of the env fieldRefs and of the volumes, and the
// ServiceAccount admission's API token, mounted into every container.
json as_defaulted_by_api_server(json pod) {
  const std::string token_volume = "kube-api-access-x1y2z";
  pod["spec"]["volumes"].push_back(
      {{"name", token_volume},
       {"projected",
        {{"sources", json::array({{{"serviceAccountToken", {{"path", "token"}}}}})}}}});
  for (auto& volume : pod["spec"]["volumes"]) {
    for (const char* kind : {"configMap", "downwardAPI", "projected"}) {
      if (volume.contains(kind)) volume[kind]["defaultMode"] = 420;
    }
    if (!volume.contains("downwardAPI")) continue;
    for (auto& item : volume["downwardAPI"]["items"]) item["fieldRef"]["apiVersion"] = "v1";
  }
  for (const char* list : {"initContainers", "containers"}) {
    for (auto& container : pod["spec"][list]) {
      container["volumeMounts"].push_back(
          {{"name", token_volume},
           {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"},
           {"readOnly", true}});
      container["terminationMessagePath"] = "/dev/termination-log";
      container["terminationMessagePolicy"] = "File";
      if (!container.contains("imagePullPolicy")) container["imagePullPolicy"] = "Always";
      for (auto& port : container.value("ports", json::array())) port["protocol"] = "TCP";
      if (!container.contains("env")) continue;
      for (auto& variable : container["env"]) {
        if (variable.contains("valueFrom")) variable["valueFrom"]["fieldRef"]["apiVersion"] = "v1";
      }
    }
  }
  return pod;
}

}  // namespace

TEST_CASE("a container named weft-proxy does not make a pod look injected", "[mutate][escape]") {
  json pod = minimal_pod();
  pod["spec"]["containers"].push_back({{"name", "weft-proxy"}, {"image", "busybox"}});
  const auto result = review(pod);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_FALSE(result.outcome.allowed);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("reserved"));
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("weft-proxy but no weft-init"));
}

TEST_CASE("an init container named weft-init does not make a pod look injected",
          "[mutate][escape]") {
  json pod = minimal_pod();
  pod["spec"]["initContainers"] = json::array({{{"name", "weft-init"}, {"image", "busybox"}}});
  const auto result = review(pod);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("weft-init but no weft-proxy"));
}

TEST_CASE("both names, made up, without the seal, are refused", "[mutate][escape]") {
  json pod = minimal_pod();
  pod["spec"]["initContainers"] = json::array(
      {{{"name", "weft-init"}, {"image", "busybox"}}, {{"name", "weft-proxy"}, {"image", "x"}}});
  const auto result = review(pod);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("no weft.io/injection-seal"));
}

TEST_CASE("opting out does not carry a made-up proxy past the seal check", "[mutate][escape]") {
  // A fake seal and a weft-proxy of the author's own: weftctl and the operator
  // would take it for the mesh's proxy and send it their requests.
  json pod = annotated(minimal_pod(), "weft.io/inject", "disabled");
  pod["metadata"]["annotations"]["weft.io/injection-seal"] = "sha256:00";
  pod["spec"]["initContainers"] = json::array({{{"name", "weft-init"}, {"image", "busybox"}}});
  pod["spec"]["containers"].push_back(
      {{"name", "weft-proxy"},
       {"image", "attacker/admin"},
       {"ports", json::array({{{"name", "weft-admin"}, {"containerPort", 4191}}})}});
  const auto result = review(pod);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("reserved"));

  // A real injection, opted out afterwards (a manifest injected by weftctl
  // --manual, then disabled): its seal still holds, so it is admitted.
  json sealed = injected(minimal_pod());
  sealed["metadata"]["annotations"]["weft.io/inject"] = "disabled";
  CHECK(review(sealed).result == ReviewResult::kSkipped);
}

TEST_CASE("the seal annotation alone is refused", "[mutate][escape]") {
  const auto result = review(annotated(minimal_pod(), "weft.io/injection-seal", "sha256:00"));
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("neither container"));
}

TEST_CASE("the injected pod, as the API server defaults it, is recognised on reinvocation",
          "[mutate][escape][idempotent]") {
  for (const auto& config : {native_config(), classic_config()}) {
    for (const json& pod :
         {deployment_review()["request"]["object"],
          annotated(minimal_pod(), "config.weft.io/skip-outbound-ports", "5432")}) {
      const json again = as_defaulted_by_api_server(injected(pod, config));
      CHECK_THAT(again["metadata"]["annotations"]["weft.io/injection-seal"].get<std::string>(),
                 Catch::StartsWith("sha256:"));
      const auto result = review(again, config);
      CHECK(result.result == ReviewResult::kSkipped);
      CHECK(result.reason == "already injected");
      CHECK(result.outcome.patch.empty());
    }
  }
}

TEST_CASE("an injected pod whose weft-init was changed is refused", "[mutate][escape]") {
  json pod = injected(minimal_pod());
  container_named(pod, "weft-init")["args"].push_back("--skip-inbound-ports");
  container_named(pod, "weft-init")["args"].push_back("1-65535");
  auto result = review(pod);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("changed after injection"));

  json image = injected(minimal_pod());
  container_named(image, "weft-proxy")["image"] = "busybox";
  CHECK(review(image).result == ReviewResult::kDenied);

  json command = injected(minimal_pod());
  container_named(command, "weft-init")["command"] = json::array({"true"});
  CHECK(review(command).result == ReviewResult::kDenied);
}

TEST_CASE("a resealed change is refused too: the seal must match what the webhook injects",
          "[mutate][escape]") {
  json pod = injected(minimal_pod());
  auto& init = container_named(pod, "weft-init");
  init["args"].push_back("--skip-outbound-ports");
  init["args"].push_back("1-65535");
  pod["metadata"]["annotations"]["weft.io/injection-seal"] =
      weft::webhook::injection_seal(weft::webhook::seal_fields(init),
                                    weft::webhook::seal_fields(container_named(pod, "weft-proxy")));
  const auto result = review(pod);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("not the ones this webhook injects"));
}

json& volume_named(json& pod, const std::string& name) {
  for (auto& volume : pod["spec"]["volumes"]) {
    if (volume["name"] == name) return volume;
  }
  FAIL("no volume " << name);
  static json none;
  return none;
}

// The seal covers the containers' commands but not the volumes they read:
// those are compared with the injection's on their own.
TEST_CASE("an injected pod whose weft-podinfo volume was replaced is refused",
          "[mutate][escape][volumes]") {
  for (const auto& config : {native_config(), classic_config()}) {
    // The proxy would select MeshPolicies by labels the pod author chose.
    json pod = as_defaulted_by_api_server(injected(minimal_pod(), config));
    json& podinfo = volume_named(pod, "weft-podinfo");
    podinfo.erase("downwardAPI");
    podinfo["configMap"] = {{"name", "chosen-labels"}};
    const auto result = review(pod, config);
    CHECK(result.result == ReviewResult::kDenied);
    CHECK_FALSE(result.outcome.allowed);
    CHECK_THAT(result.outcome.denial_message,
               Catch::Contains("its volume weft-podinfo is not the one the webhook injects"));

    // Another field of the pod's labels is as bad.
    json field = as_defaulted_by_api_server(injected(minimal_pod(), config));
    volume_named(field, "weft-podinfo")["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] =
        "metadata.annotations";
    CHECK(review(field, config).result == ReviewResult::kDenied);
  }
}

TEST_CASE("an injected pod whose proxy config points at a missing ConfigMap is refused",
          "[mutate][escape][volumes]") {
  json pod = injected(minimal_pod());
  pod["spec"]["automountServiceAccountToken"] = false;
  volume_named(pod, "weft-proxy-config")["configMap"] = {{"name", "does-not-exist"},
                                                         {"optional", true}};
  const auto result = review(pod);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message,
             Catch::Contains("its volume weft-proxy-config is not the one the webhook injects"));

  // The identity token for another audience, and an emptyDir for the lock.
  json token = injected(minimal_pod());
  volume_named(
      token, "weft-identity-token")["projected"]["sources"][0]["serviceAccountToken"]["audience"] =
      "elsewhere";
  CHECK(review(token).result == ReviewResult::kDenied);
  json lock = injected(minimal_pod());
  volume_named(lock, "weft-xtables-lock")["emptyDir"]["medium"] = "Memory";
  CHECK(review(lock).result == ReviewResult::kDenied);
  // A non-default file mode is not what the webhook injects either.
  json mode = injected(minimal_pod());
  volume_named(mode, "weft-proxy-config")["configMap"]["defaultMode"] = 511;
  CHECK(review(mode).result == ReviewResult::kDenied);
}

TEST_CASE("an injected pod missing an injected volume, or with one twice, is refused",
          "[mutate][escape][volumes]") {
  json missing = injected(minimal_pod());
  auto& volumes = missing["spec"]["volumes"];
  volumes.erase(std::remove_if(volumes.begin(), volumes.end(),
                               [](const json& v) { return v["name"] == "weft-podinfo"; }),
                volumes.end());
  auto result = review(missing);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("it has no volume weft-podinfo"));

  json twice = injected(minimal_pod());
  json copy = volume_named(twice, "weft-podinfo");
  twice["spec"]["volumes"].push_back(copy);
  result = review(twice);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("two volumes named weft-podinfo"));
}

TEST_CASE("an injected pod whose weft-proxy or weft-init mounts were changed is refused",
          "[mutate][escape][volumes]") {
  for (const auto& config : {native_config(), classic_config()}) {
    // A mount over the labels file, from a volume of the author's.
    json shadow = as_defaulted_by_api_server(injected(minimal_pod(), config));
    shadow["spec"]["volumes"].push_back({{"name", "mine"}, {"configMap", {{"name", "mine"}}}});
    container_named(shadow, "weft-proxy")["volumeMounts"].push_back(
        {{"name", "mine"},
         {"mountPath", "/var/run/weft/podinfo/labels"},
         {"subPath", "labels"},
         {"readOnly", true}});
    auto result = review(shadow, config);
    CHECK(result.result == ReviewResult::kDenied);
    CHECK_THAT(result.outcome.denial_message,
               Catch::Contains("the volumeMounts of its weft-proxy are not the ones"));

    // The podinfo mount taken away, or moved.
    json removed = injected(minimal_pod(), config);
    auto& mounts = container_named(removed, "weft-proxy")["volumeMounts"];
    mounts.erase(mounts.end() - 1);
    CHECK(review(removed, config).result == ReviewResult::kDenied);
    json moved = injected(minimal_pod(), config);
    container_named(moved, "weft-proxy")["volumeMounts"][0]["mountPath"] = "/tmp/elsewhere";
    CHECK(review(moved, config).result == ReviewResult::kDenied);
    // Even a token volume of the pod's own mounted over the proxy's config.
    json token_path = as_defaulted_by_api_server(injected(minimal_pod(), config));
    container_named(token_path, "weft-proxy")["volumeMounts"].push_back(
        {{"name", "kube-api-access-x1y2z"}, {"mountPath", "/var/run/weft/config"}});
    CHECK(review(token_path, config).result == ReviewResult::kDenied);

    json init = injected(minimal_pod(), config);
    container_named(init, "weft-init")["volumeMounts"][0]["mountPath"] = "/var/run";
    result = review(init, config);
    CHECK(result.result == ReviewResult::kDenied);
    CHECK_THAT(result.outcome.denial_message,
               Catch::Contains("the volumeMounts of its weft-init are not the ones"));
  }
}

TEST_CASE("an honest copy of a running injected pod is admitted as injected",
          "[mutate][escape][volumes][idempotent]") {
  // As kubectl get -o json gives it: defaulted, with the API token mounted in
  // every container, and volumes in another order.
  json pod = as_defaulted_by_api_server(
      injected(annotated(minimal_pod(), "config.weft.io/skip-outbound-ports", "5432")));
  std::reverse(pod["spec"]["volumes"].begin(), pod["spec"]["volumes"].end());
  pod["spec"]["volumes"].push_back({{"name", "data"}, {"emptyDir", json::object()}});
  const auto result = review(pod);
  CHECK(result.result == ReviewResult::kSkipped);
  CHECK(result.reason == "already injected");
  CHECK(result.outcome.allowed);
  CHECK(result.outcome.patch.empty());
}

TEST_CASE("wide skips need the cluster's allow-list", "[mutate][escape][skip-policy]") {
  const auto denied = [](const std::string& key, const std::string& value,
                         const InjectorConfig& config = native_config()) {
    const auto result = review(annotated(minimal_pod(), key, value), config);
    CHECK(result.result == ReviewResult::kDenied);
    return result.outcome.denial_message;
  };
  CHECK_THAT(denied("config.weft.io/skip-inbound-ports", "1-65535"),
             Catch::Contains("skips 65535 ports") && Catch::Contains("podSkipAllowedInboundPorts"));
  CHECK_THAT(denied("config.weft.io/skip-outbound-ports", "1000-1016"),
             Catch::Contains("skips 17 ports") && Catch::Contains("podSkipAllowedOutboundPorts"));
  CHECK_THAT(denied("config.weft.io/skip-subnets", "0.0.0.0/0"),
             Catch::Contains("0.0.0.0/0") && Catch::Contains("podSkipAllowedSubnets"));
  CHECK_THAT(denied("config.weft.io/skip-subnets", "10.0.0.0/23"), Catch::Contains("/24"));
  // Many narrow entries add up, subnets as ports.
  CHECK_THAT(denied("config.weft.io/skip-inbound-ports", "1-8,11-18,21"),
             Catch::Contains("skips 17 ports"));
  CHECK_THAT(denied("config.weft.io/skip-subnets", "10.1.2.0/24,10.1.3.0/24"),
             Catch::Contains("skip 512 addresses") && Catch::Contains("(one /24)"));
  CHECK_THAT(denied("config.weft.io/skip-subnets", "10.1.2.0/24,10.9.9.9/32"),
             Catch::Contains("skip 257 addresses"));

  InjectorConfig strict = native_config();
  strict.pod_skip_max_ports = 0;
  CHECK_THAT(denied("config.weft.io/skip-inbound-ports", "22", strict),
             Catch::Contains("more than the 0"));
}

TEST_CASE("narrow skips and allow-listed wide ones are granted and reported",
          "[mutate][escape][skip-policy]") {
  auto result = review(
      annotated(annotated(minimal_pod(), "config.weft.io/skip-inbound-ports", "8081, 9000-9014"),
                "config.weft.io/skip-subnets", "10.1.2.0/25,10.1.2.0/26,10.9.9.9/32"));
  REQUIRE(result.result == ReviewResult::kInjected);
  CHECK(result.opt_outs ==
        std::vector<OptOut>{{"skip_inbound_ports", "8081, 9000-9014"},
                            {"skip_subnets", "10.1.2.0/25,10.1.2.0/26,10.9.9.9/32"}});

  InjectorConfig open = native_config();
  open.pod_skip_allowed_inbound_ports = {{1, 65535}};
  open.pod_skip_allowed_outbound_ports = {{5000, 6000}};
  open.pod_skip_allowed_subnets = {{0x0a000000, 8}};
  result = review(annotated(minimal_pod(), "config.weft.io/skip-inbound-ports", "1-65535"), open);
  CHECK(result.result == ReviewResult::kInjected);
  CHECK(result.opt_outs == std::vector<OptOut>{{"skip_inbound_ports", "1-65535"}});
  // Beyond the allow-list, only the part outside counts: 5000-6000 free, 16 more allowed.
  CHECK(review(annotated(minimal_pod(), "config.weft.io/skip-outbound-ports", "5000-6016"), open)
            .result == ReviewResult::kInjected);
  CHECK(review(annotated(minimal_pod(), "config.weft.io/skip-outbound-ports", "5000-6017"), open)
            .result == ReviewResult::kDenied);
  CHECK(
      review(annotated(minimal_pod(), "config.weft.io/skip-subnets", "10.0.0.0/8"), open).result ==
      ReviewResult::kInjected);
  CHECK(review(annotated(minimal_pod(), "config.weft.io/skip-subnets", "10.64.0.0/10"), open)
            .result == ReviewResult::kInjected);
  CHECK(review(annotated(minimal_pod(), "config.weft.io/skip-subnets", "0.0.0.0/0"), open).result ==
        ReviewResult::kDenied);
  // Beyond the allow-list, only the part outside counts: 11.0.0.0/24 is the
  // whole budget, and 10.0.0.0/7 minus the allowed 10.0.0.0/8 is a /8 outside.
  CHECK(review(annotated(minimal_pod(), "config.weft.io/skip-subnets", "10.0.0.0/9,11.0.0.0/24"),
               open)
            .result == ReviewResult::kInjected);
  CHECK(
      review(annotated(minimal_pod(), "config.weft.io/skip-subnets", "10.0.0.0/7"), open).result ==
      ReviewResult::kDenied);
}

TEST_CASE("the cluster-wide skips of the configuration are not pod opt-outs",
          "[mutate][escape][skip-policy]") {
  InjectorConfig config = native_config();
  config.skip_subnets = {{0xa9fea9fe, 32}};
  const auto result = review(minimal_pod(), config);
  CHECK(result.result == ReviewResult::kInjected);
  CHECK(result.opt_outs.empty());
}

TEST_CASE("an app container running as the proxy's UID is refused", "[mutate][escape][uid]") {
  json container_uid = minimal_pod();
  container_uid["spec"]["containers"][0]["securityContext"] = {{"runAsUser", 2102}};
  auto result = review(container_uid);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message,
             Catch::Contains("container 'app' runs as UID 2102, the proxy's UID"));

  json pod_uid = minimal_pod();
  pod_uid["spec"]["securityContext"] = {{"runAsUser", 2102}};
  result = review(pod_uid);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("set on the pod"));

  json init_uid = minimal_pod();
  init_uid["spec"]["initContainers"] =
      json::array({{{"name", "setup"}, {"securityContext", {{"runAsUser", 2102}}}}});
  CHECK_THAT(review(init_uid).outcome.denial_message,
             Catch::Contains("init container 'setup' runs as UID 2102"));

  // The container's own UID wins over the pod's.
  json overridden = pod_uid;
  overridden["spec"]["containers"][0]["securityContext"] = {{"runAsUser", 1000}};
  CHECK(review(overridden).result == ReviewResult::kInjected);

  // Another proxy UID in the configuration moves the check with it.
  InjectorConfig other = native_config();
  other.proxy_uid = 3000;
  CHECK(review(container_uid, other).result == ReviewResult::kInjected);

  // An opted-out pod is never denied.
  CHECK(review(annotated(container_uid, "weft.io/inject", "disabled")).result ==
        ReviewResult::kSkipped);
}

TEST_CASE("an injected pod changed to run an app container as the proxy's UID is refused",
          "[mutate][escape][uid]") {
  json pod = injected(minimal_pod());
  container_named(pod, "app")["securityContext"] = {{"runAsUser", 2102}};
  CHECK(review(pod).result == ReviewResult::kDenied);
}

TEST_CASE("the webhook ignores the control-plane label: such a pod is injected",
          "[mutate][escape]") {
  json pod = minimal_pod();
  pod["metadata"]["labels"] = {{"weft.io/control-plane-component", "webhook"}};
  CHECK(review(pod).result == ReviewResult::kInjected);
  // Only the control plane's own namespace is left alone.
  CHECK(weft::webhook::mutate(request_of(review_of(pod, "weft-system")), native_config(),
                              Scope::kNamespaceEnabled)
            .result == ReviewResult::kSkipped);
}

TEST_CASE("opt-outs the webhook grants are reported", "[mutate][escape]") {
  auto result = review(annotated(minimal_pod(), "weft.io/inject", "disabled"));
  CHECK(result.result == ReviewResult::kSkipped);
  CHECK(result.opt_outs == std::vector<OptOut>{{"inject_disabled", ""}});

  json host = minimal_pod();
  host["spec"]["hostNetwork"] = true;
  result = review(host);
  CHECK(result.result == ReviewResult::kSkipped);
  CHECK(result.opt_outs == std::vector<OptOut>{{"host_network", ""}});

  // A malformed pod that opted out is let through, and counted.
  json bad = annotated(minimal_pod(), "weft.io/inject", "disabled");
  bad["spec"]["containers"] = 5;
  result = review(bad);
  CHECK(result.result == ReviewResult::kSkipped);
  CHECK(result.opt_outs == std::vector<OptOut>{{"inject_disabled", ""}});

  CHECK(review(minimal_pod()).opt_outs.empty());
}
