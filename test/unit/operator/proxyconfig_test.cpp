// Tests of lib/weft/proxyconfig: canonical serialization, content hash,
// parsing with validation, and agreement with docs/proxy-config.schema.json.

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "plan_helpers.h"
#include "weft/proxyconfig/document.h"
#include "weft/proxyconfig/parse.h"
#include "weft/proxyconfig/serialize.h"

using namespace std::chrono_literals;
using nlohmann::json;
namespace pc = weft::proxyconfig;
using weft::op::test::parse_error;

namespace {

// A document using every field, with set-like lists already in canonical order
// so that parse(serialize(d)) == d.
pc::Document rich_document() {
  pc::Document d;
  d.ns = "shop";

  pc::Service checkout;
  checkout.name = "checkout";
  checkout.cluster_ips = {"10.96.0.10", "fd00::10"};
  pc::ServicePort http;
  http.port = 8080;
  http.name = "http";
  http.app_protocol = "http";
  http.endpoints = {{"10.244.0.5", 8080, "checkout", "checkout-1", "zone-a"},
                    {"10.244.0.6", 8080, "", "", ""}};
  pc::Rule canary;
  canary.route = "checkout-canary";
  canary.route_rule = 0;
  canary.backends = {{"checkout-v2", 8080, 1}};
  canary.request_timeout = 5000ms;
  canary.backend_request_timeout = 1000ms;
  pc::Retry retry;
  retry.attempts = 3;
  retry.codes = {502, 503};
  retry.conditions = {pc::RetryCondition::kConnectFailure, pc::RetryCondition::kTimeout};
  retry.backoff = 50ms;
  retry.grpc_codes = {8, 14};
  canary.retry = retry;
  pc::Rule split;
  split.route = "checkout-canary";
  split.route_rule = 1;
  split.backends = {{"checkout-v1", 8080, 90}, {"checkout-v2", 8080, 10}};
  http.rules = {canary, split};
  pc::RouteMatch api;
  api.rule = 0;
  api.path = {pc::PathMatchType::kPathPrefix, "/api"};
  api.method = "GET";
  api.headers = {{pc::ValueMatchType::kExact, "x-canary", "true"}};
  api.query_params = {{pc::ValueMatchType::kRegularExpression, "v", "[0-9]+"}};
  pc::RouteMatch rest;
  rest.rule = 1;
  pc::RouteMatch grpc_call;  // a grpcMethod match
  grpc_call.rule = 0;
  grpc_call.path = {pc::PathMatchType::kExact, "/shop.Cart/AddItem"};
  grpc_call.headers = {{pc::ValueMatchType::kExact, "x-canary", "true"}};
  grpc_call.grpc = true;
  http.matches = {api, rest, grpc_call};
  http.load_balancer = pc::LoadBalancerAlgorithm::kRoundRobin;
  http.circuit_breaker = pc::CircuitBreaker{7, 10s, 60s};
  pc::ServicePort grpc;
  grpc.port = 9090;
  checkout.ports = {http, grpc};

  pc::Service v1;
  v1.name = "checkout-v1";
  v1.cluster_ips = {"10.96.0.11"};
  v1.ports = {pc::ServicePort{}};
  v1.ports[0].port = 8080;
  v1.ports[0].endpoints = {{"10.244.1.1", 8080, "checkout", "v1-a", ""}};

  d.outbound.services = {checkout, v1};

  pc::InboundPolicy strict;
  strict.name = "payments-strict";
  strict.pod_selector.match_labels = {{"app", "payments"}};
  strict.ports = {8443};
  strict.mtls = pc::MtlsMode::kStrict;
  pc::Authorization authz;
  pc::AuthorizationRule rule;
  rule.identities = {{"shop", "checkout"}, {"monitoring", "*"}};
  rule.cidrs = {"10.244.0.0/16", "fd00:10:244::/56"};
  rule.paths = {{pc::AuthorizationPathType::kExact, "/metrics"}};
  rule.methods = {"GET", "POST"};
  authz.rules = {rule};
  strict.authorization = authz;
  pc::InboundPolicy limited;
  limited.name = "inventory";
  limited.pod_selector.match_expressions = {{"tier", pc::SelectorOperator::kIn, {"backend", "db"}},
                                            {"canary", pc::SelectorOperator::kDoesNotExist, {}}};
  limited.rate_limit = pc::RateLimit{100, 200};
  d.inbound.policies = {strict, limited};
  return d;
}

// The serialized text, changed as JSON and re-hashed (so only `change` is wrong).
std::string mutated(const std::function<void(json&)>& change) {
  json body = json::parse(pc::serialize(rich_document()).text);
  body.erase("hash");
  change(body);
  body["hash"] = pc::content_hash(body);
  return body.dump();
}

}  // namespace

TEST_CASE("proxy config: serialize then parse gives the same document", "[proxyconfig]") {
  const auto document = rich_document();
  REQUIRE_FALSE(pc::validate(document).has_value());
  const auto serialized = pc::serialize(document);
  auto parsed = pc::parse(serialized.text);
  INFO(serialized.text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->document == document);
  CHECK(parsed->hash == serialized.hash);
  // And again: the canonical text is a fixed point.
  CHECK(pc::serialize(parsed->document).text == serialized.text);
}

TEST_CASE("proxy config: an empty document round-trips", "[proxyconfig]") {
  pc::Document empty;
  empty.ns = "empty";
  const auto serialized = pc::serialize(empty);
  auto parsed = pc::parse(serialized.text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->document == empty);
  CHECK(serialized.text.find("\"services\":[]") != std::string::npos);
}

TEST_CASE("proxy config: the bytes do not depend on the order of set-like lists", "[proxyconfig]") {
  const auto canonical = pc::serialize(rich_document());
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    auto shuffled = rich_document();
    std::shuffle(shuffled.outbound.services.begin(), shuffled.outbound.services.end(), random);
    for (auto& service : shuffled.outbound.services) {
      std::shuffle(service.ports.begin(), service.ports.end(), random);
      for (auto& port : service.ports) {
        std::shuffle(port.endpoints.begin(), port.endpoints.end(), random);
        for (auto& rule : port.rules) {
          if (!rule.retry) continue;
          std::shuffle(rule.retry->codes.begin(), rule.retry->codes.end(), random);
          std::shuffle(rule.retry->conditions.begin(), rule.retry->conditions.end(), random);
          std::shuffle(rule.retry->grpc_codes.begin(), rule.retry->grpc_codes.end(), random);
        }
      }
    }
    for (auto& policy : shuffled.inbound.policies) {
      std::shuffle(policy.ports.begin(), policy.ports.end(), random);
    }
    const auto again = pc::serialize(shuffled);
    CHECK(again.text == canonical.text);
    CHECK(again.hash == canonical.hash);
  }
}

TEST_CASE("proxy config: the hash covers the content", "[proxyconfig]") {
  const auto before = pc::serialize(rich_document());
  REQUIRE(before.hash.size() == 7 + 64);
  CHECK(before.hash.rfind("sha256:", 0) == 0);
  CHECK(before.text.find(before.hash) != std::string::npos);

  auto changed = rich_document();
  changed.outbound.services[0].ports[0].endpoints[1].port = 8081;
  const auto after = pc::serialize(changed);
  CHECK(after.hash != before.hash);

  // Precedence-ordered lists keep their order, and the order is content.
  auto reordered = rich_document();
  std::swap(reordered.inbound.policies[0], reordered.inbound.policies[1]);
  CHECK(pc::serialize(reordered).hash != before.hash);
}

TEST_CASE("proxy config: a document whose hash does not match is refused", "[proxyconfig]") {
  auto text = pc::serialize(rich_document()).text;
  const auto at = text.find("10.244.0.6");
  REQUIRE(at != std::string::npos);
  text.replace(at, 10, "10.244.0.7");
  CHECK_THAT(parse_error(text), Catch::Contains("hash: document says"));

  json no_hash = json::parse(pc::serialize(rich_document()).text);
  no_hash.erase("hash");
  CHECK_THAT(parse_error(no_hash.dump()), Catch::Contains("hash: is required"));
}

TEST_CASE("proxy config: unknown fields are ignored, other versions refused", "[proxyconfig]") {
  auto with_extra = mutated([](json& body) {
    body["futureField"] = {{"x", 1}};
    body["outbound"]["services"][0]["ports"][0]["futureKnob"] = true;
  });
  auto parsed = pc::parse(with_extra);
  REQUIRE(parsed.has_value());
  CHECK(parsed->document == rich_document());

  CHECK_THAT(parse_error(mutated([](json& body) { body["version"] = 2; })),
             Catch::Contains("version: unsupported version 2 (this reader understands 1)"));
}

TEST_CASE("proxy config: bad documents get an error naming the field", "[proxyconfig]") {
  struct Case {
    std::string what;
    std::function<void(json&)> change;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"port out of range",
       [](json& b) { b["outbound"]["services"][0]["ports"][0]["port"] = 70000; },
       "outbound.services[0].ports[0].port: must be an integer from 1 to 65535, got 70000"},
      {"port as string", [](json& b) { b["outbound"]["services"][0]["ports"][0]["port"] = "80"; },
       "outbound.services[0].ports[0].port: must be an integer, got string"},
      {"missing namespace", [](json& b) { b.erase("namespace"); }, "namespace: is required"},
      {"services not an array", [](json& b) { b["outbound"]["services"] = json::object(); },
       "outbound.services: must be an array, got object"},
      {"bad endpoint address",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["endpoints"][0]["address"] = "10.1";
       },
       "outbound.services[0].ports[0].endpoints[0].address: not an IP address"},
      {"duplicate endpoint",
       [](json& b) {
         auto& endpoints = b["outbound"]["services"][0]["ports"][0]["endpoints"];
         endpoints[1] = endpoints[0];
       },
       "outbound.services[0].ports[0].endpoints[1]: duplicate endpoint 10.244.0.5:8080"},
      {"duplicate service", [](json& b) { b["outbound"]["services"][1]["name"] = "checkout"; },
       "outbound.services[1].name: duplicate service \"checkout\""},
      {"match refers to a missing rule",
       [](json& b) { b["outbound"]["services"][0]["ports"][0]["matches"][1]["rule"] = 2; },
       "outbound.services[0].ports[0].matches[1].rule: refers to rule 2 but the port has 2 rules"},
      {"weight over 100",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["rules"][1]["backends"][0]["weight"] = 101;
       },
       "outbound.services[0].ports[0].rules[1].backends[0].weight: must be an integer from 0 to "
       "100, got 101"},
      {"all weights zero",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["rules"][0]["backends"][0]["weight"] = 0;
       },
       "outbound.services[0].ports[0].rules[0].backends: at least one backend must have a non-zero "
       "weight"},
      {"unknown algorithm",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["loadBalancer"]["algorithm"] = "Random";
       },
       "outbound.services[0].ports[0].loadBalancer.algorithm: unknown value \"Random\""},
      {"negative timeout",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["rules"][0]["timeouts"]["requestMs"] = -1;
       },
       "outbound.services[0].ports[0].rules[0].timeouts.requestMs: must be an integer from 0"},
      {"retry code not 5xx",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["rules"][0]["retry"]["codes"][0] = 404;
       },
       "outbound.services[0].ports[0].rules[0].retry.codes[0]: must be an integer from 500 to 599"},
      {"prefix path without slash",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["matches"][0]["path"]["value"] = "api";
       },
       "outbound.services[0].ports[0].matches[0].path.value: must start with '/'"},
      {"ejection cap below ejection time",
       [](json& b) {
         b["outbound"]["services"][0]["ports"][0]["circuitBreaker"]["maxEjectionTimeMs"] = 1;
       },
       "circuitBreaker.maxEjectionTimeMs: must be at least ejectionTimeMs"},
      {"cidr with host bits",
       [](json& b) {
         b["inbound"]["policies"][0]["authorization"]["rules"][0]["cidrs"][0] = "10.244.1.0/16";
       },
       "inbound.policies[0].authorization.rules[0].cidrs: bad CIDR \"10.244.1.0/16\""},
      {"In without values",
       [](json& b) {
         b["inbound"]["policies"][1]["podSelector"]["matchExpressions"][0].erase("values");
       },
       "inbound.policies[1].podSelector.matchExpressions[0].values: must be non-empty for In"},
      {"burst below rate", [](json& b) { b["inbound"]["policies"][1]["rateLimit"]["burst"] = 10; },
       "inbound.policies[1].rateLimit.burst: must be at least requestsPerSecond"},
      {"unknown method",
       [](json& b) {
         b["inbound"]["policies"][0]["authorization"]["rules"][0]["methods"][0] = "FETCH";
       },
       "inbound.policies[0].authorization.rules[0].methods: unknown HTTP method \"FETCH\""},
      {"unknown mtls mode", [](json& b) { b["inbound"]["policies"][0]["mtls"]["mode"] = "Off"; },
       "inbound.policies[0].mtls.mode: unknown value \"Off\""},
      {"unknown default inbound policy",
       [](json& b) { b["inbound"]["defaultPolicy"] = "same-cluster"; },
       "inbound.defaultPolicy: unknown value \"same-cluster\" (all-unauthenticated, "
       "all-authenticated, same-namespace or deny)"},
      {"default inbound policy in another case",
       [](json& b) { b["inbound"]["defaultPolicy"] = "Deny"; },
       "inbound.defaultPolicy: unknown value \"Deny\""},
      {"authorization rule with no list",
       [](json& b) { b["inbound"]["policies"][0]["authorization"]["rules"][0] = json::object(); },
       "inbound.policies[0].authorization.rules[0]: sets no list (identities, cidrs, paths or "
       "methods): it would match everything"},
      {"authorization rule with only empty lists",
       [](json& b) {
         b["inbound"]["policies"][0]["authorization"]["rules"][0] = {{"identities", json::array()},
                                                                     {"methods", json::array()}};
       },
       "inbound.policies[0].authorization.rules[0]: sets no list"},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      CHECK_THAT(parse_error(mutated(c.change)), Catch::Contains(c.expected));
    }
  }
}

TEST_CASE("proxy config: the default inbound policy round-trips, omitted at its default",
          "[proxyconfig]") {
  const auto plain = pc::serialize(rich_document());
  CHECK(plain.text.find("defaultPolicy") == std::string::npos);
  for (auto policy : {pc::DefaultInboundPolicy::kAllAuthenticated,
                      pc::DefaultInboundPolicy::kSameNamespace, pc::DefaultInboundPolicy::kDeny}) {
    auto document = rich_document();
    document.inbound.default_policy = policy;
    const auto serialized = pc::serialize(document);
    INFO(serialized.text);
    CHECK(serialized.hash != plain.hash);
    auto parsed = pc::parse(serialized.text);
    REQUIRE(parsed.has_value());
    CHECK(parsed->document.inbound.default_policy == policy);
    CHECK(parsed->document == document);
  }
  // Written out explicitly, the default word is read too.
  auto parsed = pc::parse(mutated([](json& b) { b["inbound"]["defaultPolicy"] = "deny"; }));
  REQUIRE(parsed.has_value());
  CHECK(parsed->document.inbound.default_policy == pc::DefaultInboundPolicy::kDeny);
  parsed =
      pc::parse(mutated([](json& b) { b["inbound"]["defaultPolicy"] = "all-unauthenticated"; }));
  REQUIRE(parsed.has_value());
  CHECK(parsed->document.inbound.default_policy == pc::DefaultInboundPolicy::kAllUnauthenticated);
}

TEST_CASE("proxy config: gRPC matches and grpcCodes are written only when set", "[proxyconfig]") {
  const json body = json::parse(pc::serialize(rich_document()).text);
  const json& port = body["outbound"]["services"][0]["ports"][0];
  CHECK(port["matches"][2]["grpc"] == true);
  CHECK_FALSE(port["matches"][0].contains("grpc"));
  CHECK(port["rules"][0]["retry"]["grpcCodes"] == json::array({8, 14}));

  // A document without them has the bytes it had before they existed.
  auto plain = rich_document();
  plain.outbound.services[0].ports[0].matches.pop_back();
  plain.outbound.services[0].ports[0].rules[0].retry->grpc_codes.clear();
  const std::string text = pc::serialize(plain).text;
  CHECK(text.find("grpc") == std::string::npos);
  auto parsed = pc::parse(text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->document == plain);
}

TEST_CASE("proxy config: bad gRPC matches and grpcCodes get an error naming the field",
          "[proxyconfig][grpc]") {
  struct Case {
    std::string what;
    std::function<void(json&)> change;
    std::string expected;
  };
  const auto port = [](json& b) -> json& { return b["outbound"]["services"][0]["ports"][0]; };
  const std::vector<Case> cases = {
      {"grpc code 0 (OK)", [&](json& b) { port(b)["rules"][0]["retry"]["grpcCodes"][0] = 0; },
       "outbound.services[0].ports[0].rules[0].retry.grpcCodes[0]: must be an integer from 1 to "
       "16, got 0"},
      {"grpc code 17", [&](json& b) { port(b)["rules"][0]["retry"]["grpcCodes"][1] = 17; },
       "outbound.services[0].ports[0].rules[0].retry.grpcCodes[1]: must be an integer from 1 to "
       "16, got 17"},
      {"grpc code as a name",
       [&](json& b) { port(b)["rules"][0]["retry"]["grpcCodes"][0] = "Unavailable"; },
       "retry.grpcCodes[0]: must be an integer, got string"},
      {"grpcCodes not an array", [&](json& b) { port(b)["rules"][0]["retry"]["grpcCodes"] = 14; },
       "retry.grpcCodes: must be an array, got number"},
      {"duplicate grpc code",
       [&](json& b) {
         port(b)["rules"][0]["retry"]["grpcCodes"] = {14, 14};
       },
       "outbound.services[0].ports[0].rules[0].retry.grpcCodes: duplicate code 14"},
      {"grpc not a boolean", [&](json& b) { port(b)["matches"][2]["grpc"] = "yes"; },
       "outbound.services[0].ports[0].matches[2].grpc: must be a boolean, got string"},
      {"grpc with an HTTP method", [&](json& b) { port(b)["matches"][2]["method"] = "POST"; },
       "outbound.services[0].ports[0].matches[2].method: must be left out of a gRPC match"},
      {"grpc with query parameters",
       [&](json& b) {
         port(b)["matches"][2]["queryParams"] = {
             {{"type", "Exact"}, {"name", "a"}, {"value", "b"}}};
       },
       "outbound.services[0].ports[0].matches[2].queryParams: must be left out of a gRPC match"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK_THAT(parse_error(mutated(c.change)), Catch::Contains(c.expected));
  }
  // false is the default, written or not.
  auto parsed = pc::parse(mutated([&](json& b) { port(b)["matches"][0]["grpc"] = false; }));
  REQUIRE(parsed.has_value());
  CHECK(parsed->document == rich_document());
}

TEST_CASE("proxy config: validate refuses what a writer must never produce", "[proxyconfig]") {
  auto document = rich_document();
  document.inbound.default_policy = static_cast<pc::DefaultInboundPolicy>(9);
  auto error = pc::validate(document);
  REQUIRE(error.has_value());
  CHECK_THAT(error->message, Catch::Contains("inbound.defaultPolicy: unknown value 9"));

  document = rich_document();
  document.inbound.policies[0].authorization->rules.push_back(pc::AuthorizationRule{});
  error = pc::validate(document);
  REQUIRE(error.has_value());
  CHECK_THAT(error->message,
             Catch::Contains("inbound.policies[0].authorization.rules[1]: sets no list"));
}

TEST_CASE("proxy config: malformed input is refused without throwing", "[proxyconfig]") {
  CHECK_THAT(parse_error(""), Catch::Contains("not valid JSON"));
  CHECK_THAT(parse_error("{\"version\":1,"), Catch::Contains("not valid JSON"));
  CHECK_THAT(parse_error("[1,2]"), Catch::Contains("must be a JSON object, got array"));
  CHECK_THAT(parse_error("{\"version\":18446744073709551615}"),
             Catch::Contains("version: must be an integer"));
  CHECK_THAT(parse_error(std::string("{\"version\":1,\"hash\":\"\xff\"}")),
             Catch::Contains("not valid JSON"));
}

TEST_CASE("proxy config: serialized documents validate against the JSON Schema",
          "[proxyconfig][schema]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("weft-proxyconfig-schema-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& text) {
    const auto path = dir / name;
    std::ofstream(path) << text;
    return path.string();
  };
  const auto validate = [&](const std::string& path) {
    const std::string command = std::string("python3 ") + WEFT_SCHEMA_VALIDATOR + " " +
                                WEFT_PROXY_CONFIG_SCHEMA + " " + path;
    return std::system(command.c_str());
  };
  pc::Document empty;
  empty.ns = "empty";
  CHECK(validate(write("rich.json", pc::serialize(rich_document()).text)) == 0);
  CHECK(validate(write("empty.json", pc::serialize(empty).text)) == 0);
  // The schema is not vacuous: it refuses what the parser refuses.
  CHECK(validate(write("bad-port.json", mutated([](json& b) {
                         b["outbound"]["services"][0]["ports"][0]["port"] = 0;
                       }))) != 0);
  CHECK(validate(write("bad-version.json", mutated([](json& b) { b["version"] = 2; }))) != 0);
  CHECK(validate(write("deny.json",
                       mutated([](json& b) { b["inbound"]["defaultPolicy"] = "deny"; }))) == 0);
  CHECK(validate(write("bad-default.json",
                       mutated([](json& b) { b["inbound"]["defaultPolicy"] = "allow"; }))) != 0);
  CHECK(validate(write("grpc-method.json", mutated([](json& b) {
                         b["outbound"]["services"][0]["ports"][0]["matches"][2]["method"] = "POST";
                       }))) != 0);
  CHECK(validate(write("http-method.json", mutated([](json& b) {
                         b["outbound"]["services"][0]["ports"][0]["matches"][0]["grpc"] = false;
                       }))) == 0);
  CHECK(validate(write(
            "grpc-code-0.json", mutated([](json& b) {
              b["outbound"]["services"][0]["ports"][0]["rules"][0]["retry"]["grpcCodes"][0] = 0;
            }))) != 0);
  CHECK(
      validate(write(
          "empty-rule.json", mutated([](json& b) {
            b["inbound"]["policies"][0]["authorization"]["rules"][0] = {{"methods", json::array()}};
          }))) != 0);
  std::filesystem::remove_all(dir);
}
