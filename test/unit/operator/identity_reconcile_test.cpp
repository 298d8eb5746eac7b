// What the operator writes for mTLS (pure functions, no server): which pods
// are meshed, the trust bundle turned into the document's identity section,
// the endpoints' SPIFFE IDs, and the MeshPolicy Programmed condition for mtls.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "operator/namespace_plan.h"
#include "operator/options.h"
#include "operator/trust_anchors.h"
#include "plan_helpers.h"
#include "weft/proxyconfig/parse.h"

using nlohmann::json;
using namespace weft::op;
namespace pc = weft::proxyconfig;
using weft::op::test::condition;
using weft::op::test::document_of;
using weft::op::test::kAnchorPem;

namespace {

json meta(const std::string& name) {
  return {{"name", name},           {"namespace", "shop"},
          {"uid", "uid-" + name},   {"generation", 2},
          {"resourceVersion", "7"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}};
}

// A pod as the webhook leaves it: mode "native" (weft-proxy an init container
// with restartPolicy Always), "classic" (a container), or "none".
json pod(const std::string& name, const std::string& account, const std::string& mode,
         bool sealed = true) {
  json spec = {{"serviceAccountName", account},
               {"containers", {{{"name", "app"}}}},
               {"initContainers", json::array()}};
  if (mode == "native") {
    spec["initContainers"].push_back({{"name", "weft-init"}});
    spec["initContainers"].push_back({{"name", "weft-proxy"}, {"restartPolicy", "Always"}});
  } else if (mode == "classic") {
    spec["initContainers"].push_back({{"name", "weft-init"}});
    spec["containers"].push_back({{"name", "weft-proxy"}});
  }
  json m = meta(name);
  if (sealed) m["annotations"] = {{"weft.io/injection-seal", "sha256:0123abcd"}};
  return {{"metadata", m}, {"spec", spec}};
}

TrustAnchorsModel anchors_map(std::optional<std::string> bundle) {
  json object = {{"metadata", {{"name", "weft-identity-trust-anchors"}, {"namespace", "ops"}}}};
  if (bundle) object["data"] = {{"ca-bundle.crt", *bundle}};
  return parse_trust_anchors(object);
}

IdentityState configured() {
  const auto anchors = anchors_map(kAnchorPem);
  return identity_state(&anchors, "cluster.local", "ops");
}

struct Fixture {
  NamespaceInput input;
  Fixture() {
    input.ns = "shop";
    json ns = {
        {"metadata",
         {{"name", "shop"}, {"uid", "ns-uid"}, {"labels", {{"weft.io/inject", "enabled"}}}}}};
    input.namespace_object = std::make_shared<const NamespaceModel>(parse_namespace(ns));
    json service = {{"metadata", meta("web")},
                    {"spec",
                     {{"clusterIPs", {"10.96.0.9"}},
                      {"selector", {{"app", "web"}}},
                      {"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}}}}}}};
    input.services.push_back(std::make_shared<const ServiceModel>(parse_service(service)));
    json slice_meta = meta("web-abc");
    slice_meta["labels"] = {{"kubernetes.io/service-name", "web"}};
    json endpoints = json::array();
    for (const auto& [ip, name] : {std::pair{"10.244.0.1", "native"},
                                   {"10.244.0.2", "classic"},
                                   {"10.244.0.3", "plain"},
                                   {"10.244.0.4", "unsealed"},
                                   {"10.244.0.5", "gone"}}) {
      endpoints.push_back(
          {{"addresses", {ip}},
           {"conditions", {{"ready", true}}},
           {"targetRef", {{"kind", "Pod"}, {"name", name}, {"namespace", "shop"}}}});
    }
    json slice = {{"metadata", slice_meta},
                  {"addressType", "IPv4"},
                  {"ports", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}},
                  {"endpoints", endpoints}};
    input.endpoint_slices.push_back(
        std::make_shared<const EndpointSliceModel>(parse_endpoint_slice(slice)));
    add_pod(pod("native", "web", "native"));
    add_pod(pod("classic", "web-classic", "classic"));
    add_pod(pod("plain", "legacy", "none", false));
    add_pod(pod("unsealed", "web", "native", false));
    // "gone": an endpoint whose pod is not (or no longer) cached.
  }
  void add_pod(const json& j) {
    input.pods.push_back(std::make_shared<const PodModel>(parse_pod(j)));
  }
  void add_policy(const std::string& name, json spec) {
    json object = {{"metadata", meta(name)}, {"spec", spec}};
    input.policies.push_back(std::make_shared<const MeshPolicyModel>(parse_mesh_policy(object)));
  }
  NamespacePlan plan() const { return plan_namespace(input, "2026-01-01T00:00:00Z"); }
};

std::map<std::string, std::string> identities(const pc::Document& doc) {
  std::map<std::string, std::string> out;
  for (const auto& endpoint : doc.outbound.services.at(0).ports.at(0).endpoints) {
    out[endpoint.pod] = endpoint.identity;
  }
  return out;
}

}  // namespace

TEST_CASE("identity: a pod is meshed when it has the weft-proxy container and the seal",
          "[identity]") {
  CHECK(parse_pod(pod("a", "web", "native")).meshed);
  CHECK(parse_pod(pod("a", "web", "classic")).meshed);
  CHECK_FALSE(parse_pod(pod("a", "web", "none")).meshed);           // seal, no proxy
  CHECK_FALSE(parse_pod(pod("a", "web", "native", false)).meshed);  // proxy, no seal
  // An init container named weft-proxy that is not a sidecar runs once and exits.
  json not_sidecar = pod("a", "web", "none");
  not_sidecar["spec"]["initContainers"].push_back({{"name", "weft-proxy"}});
  CHECK_FALSE(parse_pod(not_sidecar).meshed);
  json bad_seal = pod("a", "web", "native");
  bad_seal["metadata"]["annotations"]["weft.io/injection-seal"] = "yes";
  CHECK_FALSE(parse_pod(bad_seal).meshed);
  json odd = pod("a", "web", "native");
  odd["spec"]["initContainers"] = "not a list";
  CHECK_FALSE(parse_pod(odd).meshed);
}

TEST_CASE("identity: the trust bundle decides whether documents carry identity", "[identity]") {
  const auto state = configured();
  CHECK(state.status == IdentityStatus::kConfigured);
  REQUIRE(state.config.has_value());
  CHECK(state.config->trust_domain == "cluster.local");
  CHECK(state.config->trust_anchors_pem == kAnchorPem);
  CHECK(state.problem.empty());

  const auto missing = identity_state(nullptr, "cluster.local", "ops");
  CHECK(missing.status == IdentityStatus::kMissing);
  CHECK_FALSE(missing.config.has_value());
  CHECK_THAT(missing.problem,
             Catch::Contains("ConfigMap ops/weft-identity-trust-anchors does not exist"));

  const auto no_key = anchors_map(std::nullopt);
  const auto keyless = identity_state(&no_key, "cluster.local", "ops");
  CHECK(keyless.status == IdentityStatus::kMissing);
  CHECK_THAT(keyless.problem, Catch::Contains("has no key ca-bundle.crt"));

  for (const std::string& bad : {std::string(), std::string("not a certificate"),
                                 kAnchorPem + std::string(pc::kMaxTrustAnchorsPemBytes, 'A')}) {
    const auto anchors = anchors_map(bad);
    const auto invalid = identity_state(&anchors, "cluster.local", "ops");
    CHECK(invalid.status == IdentityStatus::kInvalid);
    CHECK_FALSE(invalid.config.has_value());
    CHECK_THAT(invalid.problem, Catch::Contains("identity.trustAnchorsPem"));
  }
  CHECK(to_string(IdentityStatus::kConfigured) == "configured");
  CHECK(to_string(IdentityStatus::kMissing) == "missing");
  CHECK(to_string(IdentityStatus::kInvalid) == "invalid");
}

TEST_CASE("identity: meshed endpoints carry their SPIFFE ID, unmeshed ones none", "[identity]") {
  Fixture f;
  f.input.identity = configured();
  const auto plan = f.plan();
  const auto doc = document_of(plan);  // and the document passes the parser's checks
  REQUIRE(doc.identity.has_value());
  CHECK(doc.identity->trust_domain == "cluster.local");
  CHECK(doc.identity->trust_anchors_pem == kAnchorPem);
  CHECK(identities(doc) == std::map<std::string, std::string>{
                               {"native", "spiffe://cluster.local/ns/shop/sa/web"},
                               {"classic", "spiffe://cluster.local/ns/shop/sa/web-classic"},
                               {"plain", ""},
                               {"unsealed", ""},
                               {"gone", ""}});
}

// The pod `mode` as pod() makes it, its weft-proxy given WEFT_PROXY_OPAQUE_PORTS.
json with_opaque_ports(json object, const std::string& ports) {
  for (const char* list : {"initContainers", "containers"}) {
    for (auto& container : object["spec"][list]) {
      if (container["name"] == "weft-proxy") {
        container["env"] = {{{"name", "OTHER"}, {"value", "1"}},
                            {{"name", "WEFT_PROXY_OPAQUE_PORTS"}, {"value", ports}}};
      }
    }
  }
  return object;
}

TEST_CASE("opaque ports: a meshed pod's are its proxy's WEFT_PROXY_OPAQUE_PORTS", "[identity]") {
  const auto native = parse_pod(with_opaque_ports(pod("a", "web", "native"), "3306,8000-8100"));
  CHECK(native.opaque_ports.contains(3306));
  CHECK(native.opaque_ports.contains(8050));
  CHECK_FALSE(native.opaque_ports.contains(8101));
  CHECK(parse_pod(with_opaque_ports(pod("a", "web", "classic"), "25")).opaque_ports.contains(25));
  CHECK(parse_pod(pod("a", "web", "native")).opaque_ports.empty());
  // Unmeshed (no seal): no proxy of the webhook's to treat anything so.
  CHECK(parse_pod(with_opaque_ports(pod("a", "web", "native", false), "25")).opaque_ports.empty());
  // A list the proxy would refuse counts as none.
  CHECK(parse_pod(with_opaque_ports(pod("a", "web", "native"), "25,x")).opaque_ports.empty());
  // Duplicates: the last wins, as in the kubelet.
  json twice = with_opaque_ports(pod("a", "web", "native"), "25");
  twice["spec"]["initContainers"][1]["env"].push_back(
      {{"name", "WEFT_PROXY_OPAQUE_PORTS"}, {"value", "3306"}});
  CHECK(parse_pod(twice).opaque_ports.contains(3306));
  CHECK_FALSE(parse_pod(twice).opaque_ports.contains(25));
  // A value from elsewhere (never what the webhook writes) is not known here.
  json from_elsewhere = pod("a", "web", "native");
  from_elsewhere["spec"]["initContainers"][1]["env"] = {
      {{"name", "WEFT_PROXY_OPAQUE_PORTS"},
       {"valueFrom", {{"configMapKeyRef", {{"name", "x"}, {"key", "y"}}}}}}};
  CHECK(parse_pod(from_elsewhere).opaque_ports.empty());
  // The variable on another container is not the proxy's.
  json app_env = pod("a", "web", "native");
  app_env["spec"]["containers"][0]["env"] = {
      {{"name", "WEFT_PROXY_OPAQUE_PORTS"}, {"value", "25"}}};
  CHECK(parse_pod(app_env).opaque_ports.empty());
}

TEST_CASE("opaque ports: an endpoint on a port its pod's proxy treats as opaque says so",
          "[identity]") {
  Fixture f;
  f.input.identity = configured();
  f.input.pods.clear();
  f.add_pod(with_opaque_ports(pod("native", "web", "native"), "8080"));
  f.add_pod(with_opaque_ports(pod("classic", "web-classic", "classic"), "9000-9100"));
  const auto doc = document_of(f.plan());
  std::map<std::string, bool> opaque;
  for (const auto& endpoint : doc.outbound.services.at(0).ports.at(0).endpoints) {
    opaque[endpoint.pod] = endpoint.opaque;
  }
  // The slice's port is 8080: native's proxy treats it as opaque, classic's does not.
  CHECK(opaque == std::map<std::string, bool>{{"native", true},
                                              {"classic", false},
                                              {"plain", false},
                                              {"unsealed", false},
                                              {"gone", false}});
  CHECK(f.plan().config->text.find("\"opaque\":true") != std::string::npos);
}

TEST_CASE("identity: without a usable bundle there is no identity anywhere", "[identity]") {
  Fixture f;
  const auto plan = f.plan();  // IdentityState defaults to missing
  const auto doc = document_of(plan);
  CHECK_FALSE(doc.identity.has_value());
  for (const auto& [pod_name, identity] : identities(doc)) CHECK(identity.empty());
  CHECK(plan.config->text.find("identity") == std::string::npos);
}

TEST_CASE("identity: another trust domain is used in the SPIFFE IDs", "[identity]") {
  Fixture f;
  const auto anchors = anchors_map(kAnchorPem);
  f.input.identity = identity_state(&anchors, "prod.example.org", "ops");
  const auto doc = document_of(f.plan());
  CHECK(identities(doc)["native"] == "spiffe://prod.example.org/ns/shop/sa/web");
  CHECK(spiffe_id("td", "ns", "sa") == "spiffe://td/ns/ns/sa/sa");
}

TEST_CASE("identity: a bundle change changes the document's hash", "[identity]") {
  Fixture f;
  f.input.identity = configured();
  const auto before = f.plan().config->hash;
  const auto rotated = anchors_map(kAnchorPem + kAnchorPem);
  f.input.identity = identity_state(&rotated, "cluster.local", "ops");
  CHECK(f.plan().config->hash != before);
  f.input.identity = IdentityState{};
  CHECK(f.plan().config->hash != before);
}

TEST_CASE("identity: a policy's mtls is Programmed only when the proxies can enforce it",
          "[identity][status]") {
  Fixture f;
  f.add_policy("strict", {{"podSelector", json::object()}, {"mtls", {{"mode", "Strict"}}}});
  f.add_policy("lb", {{"targetRef", {{"name", "web"}, {"port", 80}}},
                      {"loadBalancer", {{"algorithm", "RoundRobin"}}}});

  SECTION("no trust anchors: mtls is not enforced, and the status says why") {
    f.input.identity = identity_state(nullptr, "cluster.local", "ops");
    const auto plan = f.plan();
    const auto& strict = condition(plan, "strict", "Programmed");
    CHECK(strict.status == "False");
    CHECK(strict.reason == "IdentityNotConfigured");
    CHECK_THAT(strict.message, Catch::Contains("mtls Strict is not enforced") &&
                                   Catch::Contains("weft-identity-trust-anchors does not exist"));
    // Only the policies that set mtls are concerned.
    CHECK(condition(plan, "lb", "Programmed").status == "True");
    // The policy is still accepted and its section still in the document.
    CHECK(condition(plan, "strict", "Accepted").status == "True");
    CHECK(document_of(plan).inbound.policies.at(0).mtls == pc::MtlsMode::kStrict);
    // Worth an Event: a Strict policy that does not shut anything out.
    bool raised = false;
    for (const auto& event : plan.status.events) {
      raised = raised || (event.name == "strict" && event.reason == "IdentityNotConfigured");
    }
    CHECK(raised);
  }
  SECTION("trust anchors present: enforced") {
    f.input.identity = configured();
    const auto plan = f.plan();
    const auto& strict = condition(plan, "strict", "Programmed");
    CHECK(strict.status == "True");
    CHECK(strict.reason == "Programmed");
    CHECK_THAT(strict.message, Catch::Contains("mtls Strict enforced by the proxies of 2 pods"));
  }
  SECTION("Strict from a policy that targets a Service or selects by label: its reach decides") {
    f.input.identity = configured();
    f.add_policy("by-service", {{"targetRef", {{"name", "web"}}}, {"mtls", {{"mode", "Strict"}}}});
    f.add_policy("web-label", {{"podSelector", {{"matchLabels", {{"app", "web"}}}}},
                               {"mtls", {{"mode", "Strict"}}}});
    // The proxies know their pods' labels now: no pod of the fixture carries
    // app=web, so neither policy reaches a proxy, and the status says so.
    auto plan = f.plan();
    for (const std::string name : {"by-service", "web-label"}) {
      const auto& programmed = condition(plan, name, "Programmed");
      CHECK(programmed.status == "False");
      CHECK(programmed.reason == "NoPodsSelected");
    }
    CHECK(condition(plan, "strict", "Programmed").status == "True");
    CHECK_THAT(condition(plan, "strict", "Programmed").message,
               Catch::Contains("mtls Strict enforced by the proxies of 2 pods"));
    // Labelled, the meshed pod is the Service policy's on the Service's port
    // (more specific, first) and strict's elsewhere (older... here: its name
    // sorts before web-label's): web-label wins nowhere.
    f.add_pod(
        json{{"metadata",
              {{"name", "labelled"},
               {"namespace", "shop"},
               {"labels", {{"app", "web"}}},
               {"annotations", {{"weft.io/injection-seal", "sha256:0123abcd"}}}}},
             {"spec",
              {{"serviceAccountName", "web"},
               {"initContainers", {{{"name", "weft-proxy"}, {"restartPolicy", "Always"}}}}}}});
    plan = f.plan();
    CHECK(condition(plan, "by-service", "Programmed").status == "True");
    CHECK_THAT(condition(plan, "by-service", "Programmed").message,
               Catch::Contains("enforced by the proxies of 1 pods"));
    CHECK(condition(plan, "web-label", "Programmed").reason == "Overridden");
    // {} still wins on the pods the others do not select, and on other ports.
    CHECK_THAT(condition(plan, "strict", "Programmed").message,
               Catch::Contains("enforced by the proxies of 3 pods"));
  }
  SECTION("an invalid bundle: not enforced, with the parser's reason") {
    const auto anchors = anchors_map("garbage");
    f.input.identity = identity_state(&anchors, "cluster.local", "ops");
    const auto plan = f.plan();
    const auto& strict = condition(plan, "strict", "Programmed");
    CHECK(strict.reason == "IdentityNotConfigured");
    CHECK_THAT(strict.message, Catch::Contains("holds no PEM certificate"));
  }
  SECTION("reasons about the namespace or the policy come first") {
    f.input.identity = configured();
    f.add_policy("lost", {{"targetRef", {{"name", "nope"}}}, {"mtls", {{"mode", "Strict"}}}});
    const auto plan = f.plan();
    CHECK(condition(plan, "lost", "Programmed").reason == "NotAccepted");
  }
}

TEST_CASE("identity: --trust-domain", "[identity][options]") {
  CHECK(parse_options({})->trust_domain == "cluster.local");
  CHECK(parse_options({"--trust-domain=prod.example.org"})->trust_domain == "prod.example.org");
  for (const std::string bad : {"", "Prod", "a..b", "spiffe://x", "a_b"}) {
    auto parsed = parse_options({"--trust-domain=" + bad});
    REQUIRE_FALSE(parsed.has_value());
    CHECK_THAT(parsed.error().message, Catch::Contains("--trust-domain"));
  }
  CHECK_THAT(usage(), Catch::Contains("--trust-domain DOMAIN"));
}
