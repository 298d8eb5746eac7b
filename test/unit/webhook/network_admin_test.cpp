// Containers that share the pod's network namespace with the capture rules and
// could rewrite them (privileged, NET_ADMIN, NET_RAW, SYS_ADMIN, ALL): denied in
// a meshed pod unless the configuration allows their namespace, and then
// counted as an opt-out; ephemeral containers added to an injected pod alike.

#include <catch2/catch.hpp>

#include "review_fixtures.h"
#include "webhook/decision.h"
#include "webhook/mutate.h"

using nlohmann::json;
using weft::test::minimal_pod;
using weft::test::native_config;
using weft::test::request_of;
using weft::test::review;
using weft::test::review_of;
using weft::webhook::check_network_admin;
using weft::webhook::ContainerSet;
using weft::webhook::ContainerView;
using weft::webhook::InjectorConfig;
using weft::webhook::MutateResult;
using weft::webhook::OptOut;
using weft::webhook::PodView;
using weft::webhook::ReviewResult;
using weft::webhook::Scope;

namespace {

json with_context(json pod, const json& context, const char* list = "containers") {
  if (!pod["spec"].contains(list)) pod["spec"][list] = json::array();
  if (std::string(list) == "containers") {
    pod["spec"][list][0]["securityContext"] = context;
  } else {
    pod["spec"][list].push_back(
        {{"name", "setup"}, {"image", "busybox"}, {"securityContext", context}});
  }
  return pod;
}

json adding(const json& capabilities) {
  return {{"capabilities", {{"add", capabilities}}}};
}

ContainerView container(std::string name, bool init = false, bool ephemeral = false,
                        bool privileged = false, std::vector<std::string> add = {}) {
  ContainerView view;
  view.name = std::move(name);
  view.init = init;
  view.ephemeral = ephemeral;
  view.privileged = privileged;
  view.added_capabilities = std::move(add);
  return view;
}

InjectorConfig allowing(std::vector<std::string> namespaces) {
  InjectorConfig config = native_config();
  config.pod_network_admin_allowed_namespaces = std::move(namespaces);
  return config;
}

// The pod as the webhook injected it, with `ephemeral` added the way the
// API server sends an UPDATE of pods/ephemeralcontainers.
json ephemeral_update(const json& ephemeral, const InjectorConfig& config = native_config()) {
  const auto created = review(minimal_pod(), config);
  REQUIRE(created.result == ReviewResult::kInjected);
  json pod = minimal_pod().patch(json::parse(created.outcome.patch));
  pod["spec"]["ephemeralContainers"] = json::array({ephemeral});
  json update = review_of(pod, "shop", "UPDATE");
  update["request"]["subResource"] = "ephemeralcontainers";
  return update;
}

}  // namespace

TEST_CASE("the privileges that can undo capture, in any spelling", "[decision][network_admin]") {
  const auto privileges = [](bool privileged, std::vector<std::string> add) {
    return weft::webhook::network_admin_privileges(
        container("app", false, false, privileged, std::move(add)));
  };
  CHECK(privileges(false, {}).empty());
  CHECK(privileges(false, {"NET_BIND_SERVICE", "CHOWN"}).empty());
  CHECK(privileges(true, {}) == std::vector<std::string>{"privileged"});
  CHECK(privileges(false, {"NET_ADMIN"}) == std::vector<std::string>{"NET_ADMIN"});
  CHECK(privileges(false, {"net_admin"}) == std::vector<std::string>{"NET_ADMIN"});
  CHECK(privileges(false, {"CAP_NET_ADMIN"}) == std::vector<std::string>{"NET_ADMIN"});
  CHECK(privileges(false, {"NET_RAW", "SYS_ADMIN", "all", "CAP_NET_RAW"}) ==
        std::vector<std::string>{"NET_RAW", "SYS_ADMIN", "ALL"});
  CHECK(privileges(true, {"NET_ADMIN"}) == std::vector<std::string>{"privileged", "NET_ADMIN"});
  // Runtimes upper-case by Unicode rules: a dotless i or a long s become
  // NET_ADMIN and SYS_ADMIN there; anything but plain ASCII is refused.
  CHECK(privileges(false, {"net_adm\u0131n"}) ==
        std::vector<std::string>{"'net_adm\u0131n' (not a plain capability name)"});
  CHECK(privileges(false, {"\u017Fy\u017F_admin"}).size() == 1);
  CHECK(privileges(false, {"NET-ADMIN"}).size() == 1);
  CHECK(privileges(false, {""}).size() == 1);
}

TEST_CASE("check_network_admin: denied by default, granted where the configuration allows",
          "[decision][network_admin]") {
  PodView pod;
  pod.containers.push_back(container("app"));
  pod.containers.push_back(container("setup", true, false, false, {"NET_ADMIN"}));
  pod.containers.push_back(container("debug", false, true, true));

  const auto denied = check_network_admin(pod, "shop", native_config(), ContainerSet::kPod);
  REQUIRE_FALSE(denied);
  CHECK(denied.error().message ==
        "init container 'setup' adds the capability NET_ADMIN, with which it can remove the "
        "pod's capture rules and bypass the proxy unseen; drop it, or a cluster administrator can "
        "allow it in namespace shop with podNetworkAdminAllowedNamespaces in the webhook's "
        "configuration");

  for (const auto& allowed : {std::vector<std::string>{"shop"}, std::vector<std::string>{"*"}}) {
    const auto granted = check_network_admin(pod, "shop", allowing(allowed), ContainerSet::kPod);
    REQUIRE(granted);
    CHECK(*granted == std::vector<OptOut>{{"network_admin", "init container 'setup': NET_ADMIN"}});
  }
  CHECK_FALSE(
      check_network_admin(pod, "shop", allowing({"other", "shopping"}), ContainerSet::kPod));

  // Ephemeral containers only in their own set, and only they.
  const auto ephemeral =
      check_network_admin(pod, "shop", native_config(), ContainerSet::kEphemeral);
  REQUIRE_FALSE(ephemeral);
  CHECK_THAT(ephemeral.error().message,
             Catch::StartsWith("ephemeral container 'debug' is privileged"));

  // An injected pod's own weft-init needs NET_ADMIN; it is skipped there only.
  PodView injected;
  injected.containers.push_back(container("app"));
  injected.containers.push_back(container("weft-init", true, false, false, {"NET_ADMIN"}));
  CHECK(
      check_network_admin(injected, "shop", native_config(), ContainerSet::kInjectedPod)->empty());
  CHECK_FALSE(check_network_admin(injected, "shop", native_config(), ContainerSet::kPod));
}

TEST_CASE("a meshed pod with a container that could undo capture is denied with how to allow it",
          "[mutate][network_admin]") {
  const struct {
    json pod;
    std::string want;
  } cases[] = {
      {with_context(minimal_pod(), {{"privileged", true}}),
       "container 'app' is privileged (securityContext.privileged)"},
      {with_context(minimal_pod(), adding({"NET_ADMIN"})),
       "container 'app' adds the capability NET_ADMIN"},
      {with_context(minimal_pod(), adding({"NET_RAW"})),
       "container 'app' adds the capability NET_RAW"},
      {with_context(minimal_pod(), adding({"SYS_ADMIN"})),
       "container 'app' adds the capability SYS_ADMIN"},
      {with_context(minimal_pod(), adding({"ALL"})), "container 'app' adds the capability ALL"},
      {with_context(minimal_pod(), adding({"NET_ADMIN"}), "initContainers"),
       "init container 'setup' adds the capability NET_ADMIN"},
  };
  for (const auto& c : cases) {
    for (const auto scope : {Scope::kNamespaceEnabled, Scope::kPodOptIn}) {
      json pod = c.pod;
      if (scope == Scope::kPodOptIn) pod["metadata"]["annotations"]["weft.io/inject"] = "enabled";
      const auto result = review(pod, native_config(), scope);
      INFO(c.want);
      CHECK(result.result == ReviewResult::kDenied);
      CHECK_FALSE(result.outcome.allowed);
      CHECK_THAT(result.outcome.denial_message, Catch::Contains(c.want));
      CHECK_THAT(result.outcome.denial_message,
                 Catch::Contains("podNetworkAdminAllowedNamespaces"));
      CHECK(result.opt_outs.empty());
    }
  }
  // What cannot touch the capture rules stays injected.
  const auto harmless = review(with_context(minimal_pod(), adding({"NET_BIND_SERVICE"})));
  CHECK(harmless.result == ReviewResult::kInjected);
}

TEST_CASE("an allowed namespace's pod is injected and the grant counted",
          "[mutate][network_admin]") {
  const json pod = with_context(minimal_pod(),
                                {{"privileged", true}, {"capabilities", {{"add", {"NET_ADMIN"}}}}});
  const auto result = review(pod, allowing({"shop"}));
  CHECK(result.result == ReviewResult::kInjected);
  CHECK(result.opt_outs ==
        std::vector<OptOut>{{"network_admin", "container 'app': privileged,NET_ADMIN"}});
  CHECK(review(pod, allowing({"elsewhere"})).result == ReviewResult::kDenied);
}

TEST_CASE("pods not meshed are not checked: nothing to protect", "[mutate][network_admin]") {
  json disabled = with_context(minimal_pod(), adding({"NET_ADMIN"}));
  disabled["metadata"]["annotations"]["weft.io/inject"] = "disabled";
  const auto opted_out = review(disabled);
  CHECK(opted_out.result == ReviewResult::kSkipped);
  CHECK(opted_out.opt_outs == std::vector<OptOut>{{"inject_disabled", ""}});

  // Sent to the opt-in path without the annotation: not injected, not denied.
  const auto not_opted_in = review(with_context(minimal_pod(), {{"privileged", true}}),
                                   native_config(), Scope::kPodOptIn);
  CHECK(not_opted_in.result == ReviewResult::kSkipped);

  json host = with_context(minimal_pod(), {{"privileged", true}});
  host["spec"]["hostNetwork"] = true;
  CHECK(review(host).result == ReviewResult::kSkipped);
}

TEST_CASE("a copy of an injected pod with a privileged container added is denied",
          "[mutate][network_admin]") {
  const auto created = review(minimal_pod());
  REQUIRE(created.result == ReviewResult::kInjected);
  json copy = minimal_pod().patch(json::parse(created.outcome.patch));
  CHECK(review(copy).result == ReviewResult::kSkipped);  // weft-init's NET_ADMIN is its own
  copy["spec"]["containers"][0]["securityContext"] = {{"privileged", true}};
  const auto result = review(copy);
  CHECK(result.result == ReviewResult::kDenied);
  CHECK_THAT(result.outcome.denial_message, Catch::Contains("container 'app' is privileged"));
  const auto allowed = review(copy, allowing({"*"}));
  CHECK(allowed.result == ReviewResult::kSkipped);
  // Counted when injected, not again on a reinvocation.
  CHECK(allowed.opt_outs.empty());
}

TEST_CASE("an ephemeral container that could undo capture is refused in an injected pod",
          "[mutate][network_admin][ephemeral]") {
  const json debugger = {{"name", "debugger"},
                         {"image", "nicolaka/netshoot"},
                         {"securityContext", adding({"NET_ADMIN"})}};
  const auto denied = weft::webhook::mutate(request_of(ephemeral_update(debugger)), native_config(),
                                            Scope::kNamespaceEnabled);
  CHECK(denied.result == ReviewResult::kDenied);
  CHECK_FALSE(denied.outcome.allowed);
  CHECK_THAT(denied.outcome.denial_message,
             Catch::StartsWith("weft-webhook refuses this ephemeral container"));
  CHECK_THAT(denied.outcome.denial_message,
             Catch::Contains("ephemeral container 'debugger' adds the capability NET_ADMIN"));
  CHECK_THAT(denied.outcome.denial_message, Catch::Contains("podNetworkAdminAllowedNamespaces"));

  const auto granted = weft::webhook::mutate(request_of(ephemeral_update(debugger)),
                                             allowing({"shop"}), Scope::kNamespaceEnabled);
  CHECK(granted.result == ReviewResult::kSkipped);
  CHECK(granted.outcome.allowed);
  CHECK(granted.outcome.patch.empty());
  CHECK(granted.opt_outs ==
        std::vector<OptOut>{{"network_admin", "ephemeral container 'debugger': NET_ADMIN"}});

  // A plain debug container is allowed unchanged; so is any in a pod without the proxy.
  const json plain = {{"name", "debugger"}, {"image", "busybox"}};
  const auto allowed = weft::webhook::mutate(request_of(ephemeral_update(plain)), native_config(),
                                             Scope::kNamespaceEnabled);
  CHECK(allowed.result == ReviewResult::kSkipped);
  CHECK(allowed.outcome.allowed);
  CHECK(allowed.opt_outs.empty());
  json bare = minimal_pod();
  bare["spec"]["ephemeralContainers"] = json::array({debugger});
  json update = review_of(bare, "shop", "UPDATE");
  update["request"]["subResource"] = "ephemeralcontainers";
  const auto unmeshed =
      weft::webhook::mutate(request_of(update), native_config(), Scope::kNamespaceEnabled);
  CHECK(unmeshed.result == ReviewResult::kSkipped);
  CHECK(unmeshed.outcome.allowed);

  // A pod the webhook cannot read is refused, not waved through.
  json unreadable = ephemeral_update(debugger);
  unreadable["request"]["object"]["spec"]["ephemeralContainers"][0]["securityContext"] = {
      {"capabilities", {{"add", "NET_ADMIN"}}}};
  const auto refused =
      weft::webhook::mutate(request_of(unreadable), allowing({"*"}), Scope::kNamespaceEnabled);
  CHECK(refused.result == ReviewResult::kDenied);
  CHECK_THAT(refused.outcome.denial_message,
             Catch::Contains("spec.ephemeralContainers[0].securityContext.capabilities.add must "
                             "be a list"));
}

TEST_CASE("an ephemeral container running as the proxy's UID is refused in an injected pod",
          "[mutate][ephemeral]") {
  const json as_proxy = {
      {"name", "debugger"}, {"image", "busybox"}, {"securityContext", {{"runAsUser", 2102}}}};
  const auto denied = weft::webhook::mutate(request_of(ephemeral_update(as_proxy)), allowing({"*"}),
                                            Scope::kNamespaceEnabled);
  CHECK(denied.result == ReviewResult::kDenied);
  CHECK_THAT(denied.outcome.denial_message,
             Catch::Contains("ephemeral container 'debugger' runs as UID 2102"));
  const json as_other = {
      {"name", "debugger"}, {"image", "busybox"}, {"securityContext", {{"runAsUser", 1000}}}};
  CHECK(weft::webhook::mutate(request_of(ephemeral_update(as_other)), native_config(),
                              Scope::kNamespaceEnabled)
            .outcome.allowed);
}

TEST_CASE("podNetworkAdminAllowedNamespaces: namespace names or *, read back the same",
          "[config][network_admin]") {
  auto config =
      weft::webhook::parse_config(R"({"podNetworkAdminAllowedNamespaces": ["netops", "*"]})");
  REQUIRE(config);
  CHECK(config->pod_network_admin_allowed_namespaces == std::vector<std::string>{"netops", "*"});
  auto again = weft::webhook::parse_config(weft::webhook::to_json(*config).dump());
  REQUIRE(again);
  CHECK(again->pod_network_admin_allowed_namespaces ==
        config->pod_network_admin_allowed_namespaces);
  CHECK(weft::webhook::parse_config("{}")->pod_network_admin_allowed_namespaces.empty());
  for (const char* bad : {R"({"podNetworkAdminAllowedNamespaces": "netops"})",
                          R"({"podNetworkAdminAllowedNamespaces": ["Net_Ops"]})",
                          R"({"podNetworkAdminAllowedNamespaces": [1]})"}) {
    const auto refused = weft::webhook::parse_config(bad);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Catch::Contains("podNetworkAdminAllowedNamespaces"));
  }
}
