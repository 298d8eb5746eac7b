// Tests of the identity fields of the proxy configuration document
// (lib/weft/proxyconfig): the top-level `identity` section and the endpoints'
// `identity`, their canonical form, hash and every refusal.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan_helpers.h"
#include "weft/proxyconfig/document.h"
#include "weft/proxyconfig/parse.h"
#include "weft/proxyconfig/serialize.h"

using nlohmann::json;
namespace pc = weft::proxyconfig;
using weft::op::test::kAnchorPem;
using weft::op::test::parse_error;

namespace {

pc::Document meshed_document() {
  pc::Document d;
  d.ns = "shop";
  d.identity = pc::IdentityConfig{"cluster.local", kAnchorPem + kAnchorPem};
  pc::Service web;
  web.name = "web";
  web.cluster_ips = {"10.96.0.20"};
  pc::ServicePort port;
  port.port = 80;
  pc::Endpoint meshed{"10.244.0.7", 8080, "web", "web-1", ""};
  meshed.identity = "spiffe://cluster.local/ns/shop/sa/web";
  pc::Endpoint unmeshed{"10.244.0.8", 8080, "legacy", "legacy-1", ""};
  port.endpoints = {meshed, unmeshed};
  web.ports = {port};
  d.outbound.services = {web};
  return d;
}

pc::Document with_other_namespaces() {
  auto d = meshed_document();
  d.outbound.other_namespaces = {
      {.ns = "pay",
       .name = "api",
       .cluster_ips = {"10.96.5.5", "fd00::5"},
       .ports = {80, 9090},
       .identity = "spiffe://cluster.local/ns/pay/sa/api"},
      {.ns = "auth",
       .name = "login",
       .cluster_ips = {"10.96.6.6"},
       .ports = {443},
       .identity = "spiffe://cluster.local/ns/auth/sa/login"},
  };
  return d;
}

json body_of(const pc::Document& document) {
  json body = json::parse(pc::serialize(document).text);
  body.erase("hash");
  return body;
}

std::string rehashed(json body) {
  body["hash"] = pc::content_hash(body);
  return body.dump();
}

}  // namespace

TEST_CASE("proxy config identity: serialize then parse gives the same document",
          "[proxyconfig][identity]") {
  const auto document = meshed_document();
  REQUIRE_FALSE(pc::validate(document).has_value());
  const auto serialized = pc::serialize(document);
  INFO(serialized.text);
  auto parsed = pc::parse(serialized.text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->document == document);
  CHECK(pc::serialize(parsed->document).text == serialized.text);

  const json body = json::parse(serialized.text);
  CHECK(body["identity"] ==
        json{{"trustDomain", "cluster.local"}, {"trustAnchorsPem", kAnchorPem + kAnchorPem}});
  const auto& endpoints = body["outbound"]["services"][0]["ports"][0]["endpoints"];
  CHECK(endpoints[0]["identity"] == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK_FALSE(endpoints[1].contains("identity"));
}

TEST_CASE("proxy config identity: absent fields are left out, as before they existed",
          "[proxyconfig][identity]") {
  auto plain = meshed_document();
  plain.identity.reset();
  for (auto& endpoint : plain.outbound.services[0].ports[0].endpoints) endpoint.identity.clear();
  const auto serialized = pc::serialize(plain);
  CHECK(serialized.text.find("identity") == std::string::npos);
  auto parsed = pc::parse(serialized.text);
  REQUIRE(parsed.has_value());
  CHECK_FALSE(parsed->document.identity.has_value());
  CHECK(parsed->document == plain);
}

TEST_CASE("proxy config identity: the hash is stable and covers the identity fields",
          "[proxyconfig][identity]") {
  const auto before = pc::serialize(meshed_document());
  CHECK(pc::serialize(meshed_document()).hash == before.hash);
  CHECK(pc::serialize(meshed_document()).text == before.text);

  auto rotated = meshed_document();
  rotated.identity->trust_anchors_pem = kAnchorPem;
  CHECK(pc::serialize(rotated).hash != before.hash);

  auto other_domain = meshed_document();
  other_domain.identity->trust_domain = "example.org";
  other_domain.outbound.services[0].ports[0].endpoints[0].identity =
      "spiffe://example.org/ns/shop/sa/web";
  CHECK(pc::serialize(other_domain).hash != before.hash);

  auto unmeshed = meshed_document();
  unmeshed.outbound.services[0].ports[0].endpoints[0].identity.clear();
  CHECK(pc::serialize(unmeshed).hash != before.hash);
}

TEST_CASE("proxy config identity: bad identity fields are refused, naming the field",
          "[proxyconfig][identity]") {
  struct Case {
    std::string what;
    std::function<void(json&)> change;
    std::string expected;
  };
  const std::string endpoint = "outbound.services[0].ports[0].endpoints[0]";
  const auto set_endpoint_identity = [](json value) {
    return [value](json& b) {
      b["outbound"]["services"][0]["ports"][0]["endpoints"][0]["identity"] = value;
    };
  };
  const std::vector<Case> cases = {
      {"identity not an object", [](json& b) { b["identity"] = "cluster.local"; },
       "identity: must be an object, got string"},
      {"trust domain missing", [](json& b) { b["identity"].erase("trustDomain"); },
       "identity.trustDomain: is required"},
      {"anchors missing", [](json& b) { b["identity"].erase("trustAnchorsPem"); },
       "identity.trustAnchorsPem: is required"},
      {"trust domain not a string", [](json& b) { b["identity"]["trustDomain"] = 7; },
       "identity.trustDomain: must be a string, got number"},
      {"trust domain empty", [](json& b) { b["identity"]["trustDomain"] = ""; },
       "identity.trustDomain: trust domain"},
      {"trust domain in capitals", [](json& b) { b["identity"]["trustDomain"] = "Cluster.Local"; },
       "identity.trustDomain: trust domain"},
      {"trust domain with a scheme",
       [](json& b) { b["identity"]["trustDomain"] = "spiffe://cluster.local"; },
       "identity.trustDomain: trust domain"},
      {"trust domain with an empty label",
       [](json& b) { b["identity"]["trustDomain"] = "cluster..local"; },
       "identity.trustDomain: trust domain"},
      {"trust domain too long",
       [](json& b) { b["identity"]["trustDomain"] = std::string(256, 'a'); },
       "identity.trustDomain: trust domain"},
      {"anchors empty", [](json& b) { b["identity"]["trustAnchorsPem"] = ""; },
       "identity.trustAnchorsPem: must not be empty"},
      {"anchors not PEM certificates",
       [](json& b) { b["identity"]["trustAnchorsPem"] = "-----BEGIN PRIVATE KEY-----\nabc\n"; },
       "identity.trustAnchorsPem: holds no PEM certificate"},
      {"anchors too large",
       [](json& b) {
         b["identity"]["trustAnchorsPem"] =
             kAnchorPem + std::string(pc::kMaxTrustAnchorsPemBytes, 'A');
       },
       "identity.trustAnchorsPem: " +
           std::to_string(kAnchorPem.size() + pc::kMaxTrustAnchorsPemBytes) +
           " bytes, more than the limit of 65536"},
      {"endpoint identity not a string", set_endpoint_identity(1),
       endpoint + ".identity: must be a string, got number"},
      {"endpoint identity empty", set_endpoint_identity(""),
       endpoint + ".identity: must not be empty"},
      {"endpoint identity of another trust domain",
       set_endpoint_identity("spiffe://example.org/ns/shop/sa/web"),
       endpoint +
           ".identity: trust domain \"example.org\" is not the document's \"cluster.local\""},
      {"endpoint identity not a SPIFFE ID", set_endpoint_identity("web.shop"),
       endpoint + ".identity: SPIFFE ID \"web.shop\""},
      {"endpoint identity with an extra segment",
       set_endpoint_identity("spiffe://cluster.local/ns/shop/sa/web/extra"),
       endpoint + ".identity: SPIFFE ID"},
      {"endpoint identity without an account",
       set_endpoint_identity("spiffe://cluster.local/ns/shop/sa/"),
       endpoint + ".identity: SPIFFE ID"},
      {"endpoint identity with a query",
       set_endpoint_identity("spiffe://cluster.local/ns/shop/sa/web?x=1"),
       endpoint + ".identity: SPIFFE ID"},
      {"endpoint identity with a port",
       set_endpoint_identity("spiffe://cluster.local:443/ns/shop/sa/web"),
       endpoint + ".identity: SPIFFE ID"},
      {"endpoint identity with a bad namespace",
       set_endpoint_identity("spiffe://cluster.local/ns/Shop/sa/web"),
       endpoint + ".identity: SPIFFE ID"},
      {"endpoint identity without the document's identity", [](json& b) { b.erase("identity"); },
       endpoint + ".identity: needs the document's identity section"},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      json body = body_of(meshed_document());
      c.change(body);
      CHECK_THAT(parse_error(rehashed(body)), Catch::Contains(c.expected));
    }
  }
}

TEST_CASE("proxy config identity: validate() applies the same checks to built documents",
          "[proxyconfig][identity]") {
  auto bad_domain = meshed_document();
  bad_domain.identity->trust_domain = "Cluster";
  REQUIRE(pc::validate(bad_domain).has_value());
  CHECK_THAT(pc::validate(bad_domain)->message, Catch::Contains("identity.trustDomain"));

  auto orphan = meshed_document();
  orphan.identity.reset();
  REQUIRE(pc::validate(orphan).has_value());
  CHECK_THAT(pc::validate(orphan)->message,
             Catch::Contains("needs the document's identity section"));
}

TEST_CASE("proxy config identity: documents validate against the JSON Schema",
          "[proxyconfig][identity][schema]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("weft-proxyconfig-identity-schema-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto validate = [&](const std::string& name, const std::string& text) {
    const auto path = dir / name;
    std::ofstream(path) << text;
    const std::string command = std::string("python3 ") + WEFT_SCHEMA_VALIDATOR + " " +
                                WEFT_PROXY_CONFIG_SCHEMA + " " + path.string();
    return std::system(command.c_str());
  };
  CHECK(validate("meshed.json", pc::serialize(meshed_document()).text) == 0);
  json bad_id = body_of(meshed_document());
  bad_id["outbound"]["services"][0]["ports"][0]["endpoints"][0]["identity"] = "web.shop";
  CHECK(validate("bad-id.json", rehashed(bad_id)) != 0);
  json bad_anchors = body_of(meshed_document());
  bad_anchors["identity"]["trustAnchorsPem"] = "no certificate";
  CHECK(validate("bad-anchors.json", rehashed(bad_anchors)) != 0);
  // Other namespaces' meshed Services.
  CHECK(validate("others.json", pc::serialize(with_other_namespaces()).text) == 0);
  json no_ip = body_of(with_other_namespaces());
  no_ip["outbound"]["otherNamespaces"][0]["clusterIPs"] = json::array();
  CHECK(validate("no-ip.json", rehashed(no_ip)) != 0);
  json bad_port = body_of(with_other_namespaces());
  bad_port["outbound"]["otherNamespaces"][0]["ports"] = {70000};
  CHECK(validate("bad-port.json", rehashed(bad_port)) != 0);
  auto opaque = with_other_namespaces();
  opaque.outbound.services[0].ports[0].endpoints[0].opaque = true;
  opaque.outbound.other_namespaces[0].opaque_ports = {80};
  CHECK(validate("opaque.json", pc::serialize(opaque).text) == 0);
  json opaque_text = body_of(meshed_document());
  opaque_text["outbound"]["services"][0]["ports"][0]["endpoints"][0]["opaque"] = "yes";
  CHECK(validate("opaque-text.json", rehashed(opaque_text)) != 0);
  json opaque_twice = body_of(with_other_namespaces());
  opaque_twice["outbound"]["otherNamespaces"][0]["opaquePorts"] = {80, 80};
  CHECK(validate("opaque-twice.json", rehashed(opaque_twice)) != 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("proxy config identity: check_identity alone", "[proxyconfig][identity]") {
  CHECK_FALSE(pc::check_identity({"cluster.local", kAnchorPem}).has_value());
  const auto bad = pc::check_identity({"cluster.local", "no certificate"});
  REQUIRE(bad.has_value());
  CHECK_THAT(bad->message, Catch::StartsWith("identity.trustAnchorsPem: holds no PEM"));
  for (const char* good : {"cluster.local", "a", "prod-1.example.org", "x.y.z"}) {
    CHECK_FALSE(pc::check_identity({good, kAnchorPem}).has_value());
  }
  for (const char* bad_domain :
       {"", ".local", "local.", "a..b", "A.b", "a_b", "a/b", "a:1", "spiffe://a"}) {
    const auto refused = pc::check_identity({bad_domain, kAnchorPem});
    REQUIRE(refused.has_value());
    CHECK_THAT(refused->message, Catch::StartsWith("identity.trustDomain: trust domain"));
  }
}

TEST_CASE("proxy config identity: other namespaces' meshed Services round-trip, sorted",
          "[proxyconfig][identity]") {
  const auto document = with_other_namespaces();
  const auto serialized = pc::serialize(document);
  auto parsed = pc::parse(serialized.text);
  REQUIRE(parsed.has_value());
  const auto& others = parsed->document.outbound.other_namespaces;
  REQUIRE(others.size() == 2);
  CHECK(others[0].ns == "auth");  // by (namespace, name)
  CHECK(others[1] == document.outbound.other_namespaces[0]);
  CHECK(pc::serialize(parsed->document).text == serialized.text);
  CHECK(json::parse(serialized.text)["outbound"]["otherNamespaces"][1] ==
        json{{"namespace", "pay"},
             {"name", "api"},
             {"clusterIPs", {"10.96.5.5", "fd00::5"}},
             {"ports", {80, 9090}},
             {"identity", "spiffe://cluster.local/ns/pay/sa/api"}});
  // Absent when empty: documents without it are what they were.
  CHECK(pc::serialize(meshed_document()).text.find("otherNamespaces") == std::string::npos);
}

TEST_CASE("proxy config identity: opaque endpoints and ports round-trip, absent when not",
          "[proxyconfig][identity]") {
  auto document = with_other_namespaces();
  document.outbound.services[0].ports[0].endpoints[0].opaque = true;
  document.outbound.other_namespaces[0].opaque_ports = {9090};
  const auto serialized = pc::serialize(document);
  const json body = json::parse(serialized.text);
  CHECK(body["outbound"]["services"][0]["ports"][0]["endpoints"][0]["opaque"] == true);
  CHECK_FALSE(body["outbound"]["services"][0]["ports"][0]["endpoints"][1].contains("opaque"));
  CHECK(body["outbound"]["otherNamespaces"][1]["opaquePorts"] == json{9090});
  CHECK_FALSE(body["outbound"]["otherNamespaces"][0].contains("opaquePorts"));
  auto parsed = pc::parse(serialized.text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->document.outbound.services[0].ports[0].endpoints[0].opaque);
  CHECK_FALSE(parsed->document.outbound.services[0].ports[0].endpoints[1].opaque);
  CHECK(parsed->document.outbound.other_namespaces[1].opaque_ports ==
        std::vector<std::uint16_t>{9090});
  CHECK(pc::serialize(parsed->document).text == serialized.text);
  // A document without them (an older operator's) is what it was.
  CHECK(pc::serialize(with_other_namespaces()).text.find("opaque") == std::string::npos);
}

TEST_CASE("proxy config identity: bad other-namespace entries are refused, naming the field",
          "[proxyconfig][identity]") {
  struct Case {
    std::string what;
    std::function<void(json&)> change;
    std::string expected;
  };
  const std::string p = "outbound.otherNamespaces[1]";
  const auto set = [](std::string key, json value) {
    return [key, value](json& b) { b["outbound"]["otherNamespaces"][1][key] = value; };
  };
  const std::vector<Case> cases = {
      {"not a list", [](json& b) { b["outbound"]["otherNamespaces"] = json::object(); },
       "outbound.otherNamespaces: must be an array"},
      {"without the identity section", [](json& b) { b.erase("identity"); },
       "needs the document's identity section"},
      {"the document's own namespace", set("namespace", "shop"),
       p + ".namespace: is the document's own"},
      {"a bad namespace", set("namespace", "Pay"),
       p + ".namespace: \"Pay\" is not a namespace name"},
      {"no name", set("name", ""), p + ".name: must not be empty"},
      {"no cluster IP", set("clusterIPs", json::array()), p + ".clusterIPs: must not be empty"},
      {"a bad cluster IP", set("clusterIPs", {"10.96.5"}), p + ".clusterIPs: bad IP"},
      {"no port", set("ports", json::array()), p + ".ports: must not be empty"},
      {"port 0", set("ports", {0}), p + ".ports[0]: must be an integer from 1 to 65535"},
      {"a duplicate port", set("ports", {80, 80}), p + ".ports: has a duplicate port"},
      {"identity missing", [&](json& b) { b["outbound"]["otherNamespaces"][1].erase("identity"); },
       p + ".identity: is required"},
      {"identity of another trust domain", set("identity", "spiffe://example.org/ns/pay/sa/api"),
       p + ".identity: trust domain \"example.org\""},
      {"identity of another namespace", set("identity", "spiffe://cluster.local/ns/shop/sa/web"),
       p + ".identity: names namespace \"shop\", not the Service's \"pay\""},
      {"identity not a SPIFFE ID", set("identity", "api.pay"), p + ".identity: SPIFFE ID"},
      {"an opaque port not among the ports", set("opaquePorts", {81}),
       p + ".opaquePorts: port 81 is not one of ports"},
      {"an opaque port out of range", set("opaquePorts", {0}),
       p + ".opaquePorts[0]: must be an integer from 1 to 65535"},
      {"opaque ports not a list", set("opaquePorts", 80), p + ".opaquePorts: must be an array"},
      {"a duplicate opaque port", set("opaquePorts", {80, 80}),
       p + ".opaquePorts: has a duplicate port"},
      {"an endpoint's opaque not a boolean",
       [](json& b) { b["outbound"]["services"][0]["ports"][0]["endpoints"][0]["opaque"] = "yes"; },
       "outbound.services[0].ports[0].endpoints[0].opaque: must be a boolean, got string"},
      {"a duplicate",
       [](json& b) {
         auto& list = b["outbound"]["otherNamespaces"];
         list.push_back(list[1]);
       },
       "outbound.otherNamespaces[2]: duplicate service pay/api"},
  };
  for (const auto& c : cases) {
    SECTION(c.what) {
      json body = body_of(with_other_namespaces());
      c.change(body);
      CHECK_THAT(parse_error(rehashed(body)), Catch::Contains(c.expected));
    }
  }
}
