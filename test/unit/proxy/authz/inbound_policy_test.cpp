// InboundPolicies (proxy/authz/inbound_policy.h): one fixture document, a
// decision table over it, and the per-port mtls and rateLimit winners.

#include "proxy/authz/inbound_policy.h"

#include <catch2/catch.hpp>
#include <string>

// The fixture names only the fields each policy sets; the rest are meant to be
// their defaults (unset sections).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace pc = weft::proxyconfig;
using weft::proxy::authz::Client;
using weft::proxy::authz::Decision;
using weft::proxy::authz::HttpRequest;
using weft::proxy::authz::InboundPolicies;
using weft::proxy::authz::PodLabels;

namespace {

using Opaque = InboundPolicies::Opaque;

constexpr const char* FE = "spiffe://cluster.local/ns/shop/sa/frontend";
constexpr const char* SHOP_X = "spiffe://cluster.local/ns/shop/sa/x";
constexpr const char* ADM = "spiffe://cluster.local/ns/ops/sa/admin";
constexpr const char* BAD = "spiffe://cluster.local/garbage";
constexpr const char* NONE = "";
constexpr const char* CONN = "";  // method "": decide_connection

pc::LabelSelector labels_selector(std::map<std::string, std::string> labels) {
  pc::LabelSelector s;
  s.match_labels = std::move(labels);
  return s;
}
pc::LabelSelector expression_selector(std::string key, pc::SelectorOperator op,
                                      std::vector<std::string> values) {
  pc::LabelSelector s;
  s.match_expressions.push_back({std::move(key), op, std::move(values)});
  return s;
}
pc::Authorization allow_all() {
  return {.default_action = pc::AuthorizationAction::kAllow};
}
pc::AuthorizationPath prefix(std::string v) {
  return {pc::AuthorizationPathType::kPathPrefix, std::move(v)};
}
pc::AuthorizationPath exact(std::string v) {
  return {pc::AuthorizationPathType::kExact, std::move(v)};
}

const PodLabels kPod{{"app", "web"}, {"tier", "api"}, {"env", "prod"}};

// Precedence order as the operator writes it.
pc::Document main_document() {
  pc::Document d;
  d.ns = "shop";
  d.inbound.default_policy = pc::DefaultInboundPolicy::kDeny;
  auto& p = d.inbound.policies;
  p.push_back({.name = "port-8080",
               .pod_selector = labels_selector({{"app", "web"}}),
               .ports = {8080},
               .mtls = pc::MtlsMode::kStrict,
               .authorization =
                   pc::Authorization{.default_action = pc::AuthorizationAction::kDeny,
                                     .rules = {{.identities = {{"shop", "frontend"}}},
                                               {.cidrs = {"10.0.0.0/8"}, .methods = {"GET"}}}}});
  p.push_back({.name = "not-selected",
               .pod_selector = labels_selector({{"app", "db"}}),
               .authorization = allow_all(),
               .rate_limit = pc::RateLimit{1, 1}});
  p.push_back({.name = "expr-not-selected",
               .pod_selector = expression_selector("env", pc::SelectorOperator::kNotIn, {"prod"}),
               .mtls = pc::MtlsMode::kStrict,
               .authorization = allow_all()});
  p.push_back({.name = "strict-6060", .ports = {6060}, .mtls = pc::MtlsMode::kStrict});
  p.push_back({.name = "rl-only", .rate_limit = pc::RateLimit{10, 20}});
  p.push_back({.name = "port-9090-empty", .ports = {9090}, .authorization = pc::Authorization{}});
  p.push_back({.name = "port-7070-allow",
               .pod_selector = labels_selector({{"app", "web"}}),
               .ports = {7070},
               .authorization = allow_all(),
               .rate_limit = pc::RateLimit{5, 5}});
  p.push_back(
      {.name = "general",
       .pod_selector = expression_selector("tier", pc::SelectorOperator::kIn, {"api", "web"}),
       .mtls = pc::MtlsMode::kPermissive,
       .authorization = pc::Authorization{
           .default_action = pc::AuthorizationAction::kDeny,
           .rules = {
               {.identities = {{"*", "*"}}, .paths = {prefix("/api")}, .methods = {"GET", "POST"}},
               {.identities = {{"shop", "*"}}, .paths = {exact("/exact")}},
               {.cidrs = {"192.168.1.0/24", "2001:db8::/32", "bad-cidr"}},
               {.paths = {prefix("/public/")}}}}});
  p.push_back({.name = "late-port-8080", .ports = {8080}, .authorization = allow_all()});
  return d;
}

// No authorization but for port 9090: the default inbound policy decides.
pc::Document bare_document(pc::DefaultInboundPolicy policy) {
  pc::Document d;
  d.ns = "shop";
  d.inbound.default_policy = policy;
  d.inbound.policies.push_back({.name = "not-selected",
                                .pod_selector = labels_selector({{"app", "db"}}),
                                .authorization = allow_all()});
  d.inbound.policies.push_back({.name = "rl-only", .rate_limit = pc::RateLimit{10, 20}});
  d.inbound.policies.push_back(
      {.name = "port-9090-empty", .ports = {9090}, .authorization = pc::Authorization{}});
  return d;
}

enum class Doc { kMain, kUnauth, kAuth, kSameNs, kDeny };

std::shared_ptr<const InboundPolicies> compiled(Doc doc) {
  switch (doc) {
    case Doc::kMain:
      return InboundPolicies::compile(main_document(), kPod);
    case Doc::kUnauth:
      return InboundPolicies::compile(bare_document(pc::DefaultInboundPolicy::kAllUnauthenticated),
                                      kPod);
    case Doc::kAuth:
      return InboundPolicies::compile(bare_document(pc::DefaultInboundPolicy::kAllAuthenticated),
                                      kPod);
    case Doc::kSameNs:
      return InboundPolicies::compile(bare_document(pc::DefaultInboundPolicy::kSameNamespace),
                                      kPod);
    case Doc::kDeny:
      return InboundPolicies::compile(bare_document(pc::DefaultInboundPolicy::kDeny), kPod);
  }
  return nullptr;
}

}  // namespace

TEST_CASE("inbound policy: decision table", "[authz][inbound_policy]") {
  const auto [doc, port, identity, address, method, path, allowed, policy,
              rule] = GENERATE(table<Doc, int, const char*, const char*, const char*, const char*,
                                     bool, const char*, const char*>({
      // Port 8080: the port-specific policy wins over later ones (late-port-8080).
      {Doc::kMain, 8080, FE, "1.2.3.4", "GET", "/anything", true, "port-8080", "rule-0"},
      {Doc::kMain, 8080, ADM, "1.2.3.4", "GET", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, SHOP_X, "1.2.3.4", "GET", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, NONE, "10.1.2.3", "GET", "/", true, "port-8080", "rule-1"},
      {Doc::kMain, 8080, NONE, "10.255.255.255", "GET", "/x", true, "port-8080", "rule-1"},
      {Doc::kMain, 8080, NONE, "10.1.2.3", "POST", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, NONE, "10.1.2.3", "get", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, NONE, "11.0.0.1", "GET", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, NONE, "9.255.255.255", "GET", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, NONE, "::ffff:10.9.9.9", "GET", "/", true, "port-8080", "rule-1"},
      {Doc::kMain, 8080, NONE, "::ffff:11.9.9.9", "GET", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, BAD, "1.2.3.4", "GET", "/", false, "port-8080", "default-action"},
      {Doc::kMain, 8080, "spiffe://cluster.local/ns/shop/sa/frontend-x", "1.2.3.4", "GET", "/",
       false, "port-8080", "default-action"},
      {Doc::kMain, 8080, FE, "1.2.3.4", CONN, "", true, "port-8080", "rule-0"},
      // A rule with methods never matches a connection.
      {Doc::kMain, 8080, NONE, "10.1.2.3", CONN, "", false, "port-8080", "default-action"},
      // Other ports: "general" (selected by matchExpressions In), the policies
      // before it not selecting the pod or not setting authorization.
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/api", true, "general", "rule-0"},
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/api/x", true, "general", "rule-0"},
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/api/", true, "general", "rule-0"},
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/apix", false, "general", "default-action"},
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/ap", false, "general", "default-action"},
      {Doc::kMain, 5000, ADM, "1.2.3.4", "POST", "/api/v1", true, "general", "rule-0"},
      {Doc::kMain, 5000, ADM, "1.2.3.4", "DELETE", "/api", false, "general", "default-action"},
      {Doc::kMain, 5000, NONE, "1.2.3.4", "GET", "/api", false, "general", "default-action"},
      {Doc::kMain, 5000, BAD, "1.2.3.4", "GET", "/api", false, "general", "default-action"},
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/exact", true, "general", "rule-1"},
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/exact/", false, "general", "default-action"},
      {Doc::kMain, 5000, FE, "1.2.3.4", "GET", "/exact/x", false, "general", "default-action"},
      {Doc::kMain, 5000, SHOP_X, "1.2.3.4", "DELETE", "/exact", true, "general", "rule-1"},
      {Doc::kMain, 5000, ADM, "1.2.3.4", "GET", "/exact", false, "general", "default-action"},
      {Doc::kMain, 5000, NONE, "192.168.1.7", "GET", "/whatever", true, "general", "rule-2"},
      {Doc::kMain, 5000, NONE, "192.168.2.7", "GET", "/whatever", false, "general",
       "default-action"},
      {Doc::kMain, 5000, NONE, "::ffff:192.168.1.200", "GET", "/", true, "general", "rule-2"},
      {Doc::kMain, 5000, NONE, "2001:db8::1", "GET", "/", true, "general", "rule-2"},
      {Doc::kMain, 5000, NONE, "2001:db8:ffff::1", "GET", "/", true, "general", "rule-2"},
      {Doc::kMain, 5000, NONE, "2001:db9::1", "GET", "/", false, "general", "default-action"},
      {Doc::kMain, 5000, NONE, "::1", "GET", "/", false, "general", "default-action"},
      {Doc::kMain, 5000, NONE, "1.2.3.4", "GET", "/public/", true, "general", "rule-3"},
      {Doc::kMain, 5000, NONE, "1.2.3.4", "GET", "/public/x", true, "general", "rule-3"},
      {Doc::kMain, 5000, NONE, "1.2.3.4", "GET", "/public", true, "general", "rule-3"},
      {Doc::kMain, 5000, NONE, "1.2.3.4", "GET", "/publicx", false, "general", "default-action"},
      {Doc::kMain, 5000, NONE, "1.2.3.4", "GET", "/PUBLIC/x", false, "general", "default-action"},
      {Doc::kMain, 5000, NONE, "192.168.1.7", CONN, "", true, "general", "rule-2"},
      {Doc::kMain, 5000, FE, "1.2.3.4", CONN, "", false, "general", "default-action"},
      {Doc::kMain, 5000, NONE, "1.2.3.4", CONN, "", false, "general", "default-action"},
      {Doc::kMain, 5000, FE, "192.168.1.7", "GET", "/apix", true, "general", "rule-2"},
      {Doc::kMain, 5000, FE, "192.168.1.7", "GET", "/api", true, "general", "rule-0"},
      {Doc::kMain, 5000, ADM, "192.168.1.7", "DELETE", "/admin", true, "general", "rule-2"},
      // A policy with only mtls for 6060 leaves its authorization to "general".
      {Doc::kMain, 6060, FE, "1.2.3.4", "GET", "/api", true, "general", "rule-0"},
      {Doc::kMain, 6060, NONE, "1.2.3.4", "GET", "/", false, "general", "default-action"},
      // authorization: {} denies everything.
      {Doc::kMain, 9090, FE, "1.2.3.4", "GET", "/api", false, "port-9090-empty", "default-action"},
      {Doc::kMain, 9090, NONE, "192.168.1.7", "GET", "/", false, "port-9090-empty",
       "default-action"},
      {Doc::kMain, 9090, FE, "1.2.3.4", CONN, "", false, "port-9090-empty", "default-action"},
      // defaultAction Allow with no rules.
      {Doc::kMain, 7070, NONE, "1.2.3.4", "GET", "/", true, "port-7070-allow", "default-action"},
      {Doc::kMain, 7070, NONE, "1.2.3.4", CONN, "", true, "port-7070-allow", "default-action"},
      // The default inbound policies.
      {Doc::kUnauth, 5000, NONE, "1.2.3.4", "GET", "/", true, "default:all-unauthenticated",
       "default"},
      {Doc::kUnauth, 5000, FE, "1.2.3.4", "GET", "/", true, "default:all-unauthenticated",
       "default"},
      {Doc::kUnauth, 5000, NONE, "1.2.3.4", CONN, "", true, "default:all-unauthenticated",
       "default"},
      {Doc::kUnauth, 9090, FE, "1.2.3.4", "GET", "/", false, "port-9090-empty", "default-action"},
      {Doc::kAuth, 5000, NONE, "1.2.3.4", "GET", "/", false, "default:all-authenticated",
       "default"},
      {Doc::kAuth, 5000, FE, "1.2.3.4", "GET", "/", true, "default:all-authenticated", "default"},
      {Doc::kAuth, 5000, BAD, "1.2.3.4", "GET", "/", false, "default:all-authenticated", "default"},
      {Doc::kAuth, 5000, ADM, "1.2.3.4", CONN, "", true, "default:all-authenticated", "default"},
      {Doc::kSameNs, 5000, FE, "1.2.3.4", "GET", "/", true, "default:same-namespace", "default"},
      {Doc::kSameNs, 5000, ADM, "1.2.3.4", "GET", "/", false, "default:same-namespace", "default"},
      {Doc::kSameNs, 5000, NONE, "1.2.3.4", "GET", "/", false, "default:same-namespace", "default"},
      {Doc::kSameNs, 5000, SHOP_X, "1.2.3.4", CONN, "", true, "default:same-namespace", "default"},
      {Doc::kDeny, 5000, FE, "1.2.3.4", "GET", "/", false, "default:deny", "default"},
      {Doc::kDeny, 5000, NONE, "1.2.3.4", "GET", "/", false, "default:deny", "default"},
      {Doc::kDeny, 5000, FE, "1.2.3.4", CONN, "", false, "default:deny", "default"},
      {Doc::kDeny, 7070, FE, "1.2.3.4", "GET", "/", false, "default:deny", "default"},
  }));
  const auto policies = compiled(doc);
  const Client client{identity, boost::asio::ip::make_address(address)};
  const auto p = static_cast<std::uint16_t>(port);
  const auto decision = std::string_view(method).empty()
                            ? policies->decide_connection(p, client, Opaque::kDeclared)
                            : policies->decide(p, client, HttpRequest{method, path});
  INFO("port " << port << " " << identity << " " << address << " " << method << " " << path);
  CHECK(decision.allowed == allowed);
  CHECK(decision.policy == policy);
  CHECK(decision.rule == rule);
  if (allowed) {
    CHECK(decision.reason.empty());
  } else if (std::string_view(rule) == "default") {
    CHECK(decision.reason == "the default inbound policy does not allow it");
  } else {
    CHECK(decision.reason == "no rule of the authorization policy allows it");
  }
}

TEST_CASE("inbound policy: mtls and rateLimit resolved per port, independently",
          "[authz][inbound_policy]") {
  const auto policies = compiled(Doc::kMain);
  CHECK(policies->mtls_mode(8080) == pc::MtlsMode::kStrict);
  CHECK(policies->mtls_mode(6060) == pc::MtlsMode::kStrict);
  CHECK(policies->mtls_mode(5000) == pc::MtlsMode::kPermissive);  // "general"
  CHECK(policies->mtls_mode(9090) == pc::MtlsMode::kPermissive);

  for (int port : {5000, 8080, 9090, 7070}) {
    const auto* limit = policies->rate_limit(static_cast<std::uint16_t>(port));
    REQUIRE(limit != nullptr);
    CHECK(limit->policy == "rl-only");  // before port-7070-allow, not-selected never
    CHECK(limit->limit == pc::RateLimit{10, 20});
  }

  const auto bare = compiled(Doc::kDeny);
  CHECK(bare->mtls_mode(5000) == pc::MtlsMode::kPermissive);
  pc::Document none;
  none.ns = "shop";
  CHECK(InboundPolicies::compile(none, kPod)->rate_limit(5000) == nullptr);
}

TEST_CASE(
    "inbound policy: a rate-limited port refuses a connection that is not HTTP unless "
    "declared opaque",
    "[authz][inbound_policy]") {
  // rl-only limits every port; the default inbound policy of kUnauth allows all.
  const auto policies = compiled(Doc::kUnauth);
  const Client client{FE, boost::asio::ip::make_address("1.2.3.4")};
  const Decision declared = policies->decide_connection(5000, client, Opaque::kDeclared);
  CHECK(declared.allowed);
  const Decision undetected = policies->decide_connection(5000, client, Opaque::kUndetected);
  CHECK_FALSE(undetected.allowed);
  CHECK(undetected.policy == "rl-only");
  CHECK(undetected.rule == "http-only");
  CHECK(undetected.reason == "a rate-limited port takes HTTP only, unless declared opaque");
  // Without a rate limit an undetected connection is decided as any other.
  pc::Document unlimited = bare_document(pc::DefaultInboundPolicy::kAllUnauthenticated);
  std::erase_if(unlimited.inbound.policies, [](const auto& p) { return p.name == "rl-only"; });
  CHECK(InboundPolicies::compile(unlimited, kPod)
            ->decide_connection(5000, client, Opaque::kUndetected)
            .allowed);
  // A denial by the authorization says so, not the rate limit's rule.
  const auto deny = compiled(Doc::kDeny);  // (the decision views it)
  const Decision denied = deny->decide_connection(5000, client, Opaque::kUndetected);
  CHECK_FALSE(denied.allowed);
  CHECK(denied.rule == "default");
}

TEST_CASE("inbound policy: only an identity shaped spiffe://<td>/ns/<ns>/sa/<sa> is one",
          "[authz][inbound_policy]") {
  const auto authenticated = compiled(Doc::kAuth);
  const auto same_namespace = compiled(Doc::kSameNs);
  const auto address = boost::asio::ip::make_address("1.2.3.4");
  const auto decide = [&](const auto& policies, const char* id) {
    return policies->decide(5000, Client{id, address}, HttpRequest{"GET", "/"}).allowed;
  };
  CHECK(decide(authenticated, FE));
  CHECK(decide(same_namespace, FE));
  CHECK_FALSE(decide(same_namespace, ADM));
  for (const char* not_one :
       {"spiffe://cluster.local/ns/shop/sa/frontend/extra", "spiffe:///ns/shop/sa/frontend",
        "spiffe://cluster.local/ns//sa/frontend", "spiffe://cluster.local/ns/shop/sa/",
        "spiffe://cluster.local/ns/shop", "spiffe://cluster.local",
        "SPIFFE://cluster.local/ns/"
        "shop/sa/frontend",
        "https://cluster.local/ns/shop/sa/frontend",
        "spiffe://cluster.local/"
        "sa/frontend/ns/shop",
        "spiffe://cluster.local/ns/a/b/sa/frontend", "spiffe://cluster.local/ns/Shop/sa/frontend",
        "spiffe://cluster.local/ns/shop/sa/front%65nd", "spiffe://cluster.local/ns/*/sa/frontend",
        "spiffe://cluster.local/ns/shop/sa/a?b"}) {
    INFO(not_one);
    CHECK_FALSE(decide(authenticated, not_one));
    CHECK_FALSE(decide(same_namespace, not_one));
  }
  // Through a rule's identities too ("general": any namespace and account, GET /api).
  const auto main = compiled(Doc::kMain);
  const HttpRequest api{"GET", "/api/x"};
  CHECK(main->decide(5000, Client{FE, address}, api).allowed);
  CHECK_FALSE(main->decide(5000, Client{"spiffe://cluster.local/ns/Shop/sa/frontend", address}, api)
                  .allowed);
}

TEST_CASE("inbound policy: before any document everything is allowed", "[authz][inbound_policy]") {
  const InboundPolicies policies;
  const Client client{"", boost::asio::ip::make_address("1.2.3.4")};
  const auto decision = policies.decide(80, client, HttpRequest{"GET", "/admin"});
  CHECK(decision.allowed);
  CHECK(decision.policy == "default:all-unauthenticated");
  CHECK(policies.decide_connection(80, client, Opaque::kDeclared).allowed);
  CHECK(policies.decide_connection(80, client, Opaque::kUndetected).allowed);
  CHECK(policies.mtls_mode(80) == pc::MtlsMode::kPermissive);
  CHECK(policies.rate_limit(80) == nullptr);
}

TEST_CASE("inbound policy: the pod's labels decide which policies apply",
          "[authz][inbound_policy]") {
  // The same document for a pod "general" does not select (tier=db), with env
  // not prod so that expr-not-selected (allow all) applies.
  const PodLabels other{{"app", "db"}, {"tier", "db"}, {"env", "dev"}};
  const auto policies = InboundPolicies::compile(main_document(), other);
  const Client client{"", boost::asio::ip::make_address("1.2.3.4")};
  const auto decision = policies->decide(5000, client, HttpRequest{"GET", "/admin"});
  CHECK(decision.allowed);
  CHECK(decision.policy == "not-selected");                   // selects app=db, first in order
  CHECK(policies->mtls_mode(5000) == pc::MtlsMode::kStrict);  // from expr-not-selected
  REQUIRE(policies->rate_limit(5000) != nullptr);
  CHECK(policies->rate_limit(5000)->policy == "not-selected");
}
