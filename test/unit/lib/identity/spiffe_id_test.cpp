#include "weft/identity/spiffe_id.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using weft::identity::check_trust_domain;
using weft::identity::identity_from_username;
using weft::identity::make_identity;
using weft::identity::parse_spiffe_id;
using weft::identity::WorkloadIdentity;

TEST_CASE("spiffe id: uri and dns name of an identity", "[identity]") {
  const WorkloadIdentity id{"cluster.local", "shop", "web"};
  CHECK(id.uri() == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK(id.dns_name() == "web.shop.serviceaccount.identity.weft.cluster.local");
}

TEST_CASE("spiffe id: round trip", "[identity]") {
  for (const auto* uri :
       {"spiffe://cluster.local/ns/shop/sa/web", "spiffe://example.org/ns/a/sa/b",
        "spiffe://td/ns/kube-system/sa/default", "spiffe://a-b.c1.example/ns/n0/sa/web.v2"}) {
    INFO(uri);
    auto id = parse_spiffe_id(uri);
    REQUIRE(id);
    CHECK(id->uri() == uri);
    auto again = parse_spiffe_id(id->uri());
    REQUIRE(again);
    CHECK(*again == *id);
  }
  auto id = parse_spiffe_id("spiffe://cluster.local/ns/shop/sa/web");
  REQUIRE(id);
  CHECK(*id == WorkloadIdentity{"cluster.local", "shop", "web"});
}

TEST_CASE("spiffe id: hostile input refused with the reason", "[identity]") {
  struct Case {
    std::string uri;
    std::string reason;
  };
  const std::vector<Case> cases{
      {"", "empty"},
      {"spiffe://cluster.local/ns/a/sa/b/../c", "'.' or '..'"},
      {"spiffe://cluster.local/ns/a/sa/b/c", "after /sa/<account>"},
      {"spiffe://cluster.local/ns/a%2Fb/sa/c", "percent-encoded"},
      {"spiffe://cluster.local/ns/a/sa/%62", "percent-encoded"},
      {"SPIFFE://cluster.local/ns/a/sa/b", "does not start with \"spiffe://\""},
      {"Spiffe://cluster.local/ns/a/sa/b", "does not start with \"spiffe://\""},
      {"https://cluster.local/ns/a/sa/b", "does not start with \"spiffe://\""},
      {"spiffe:/cluster.local/ns/a/sa/b", "does not start with \"spiffe://\""},
      {"spiffe://Cluster.local/ns/a/sa/b", "must be lowercase"},
      {"spiffe://cluster.local/ns/a/sa/b?x", "query"},
      {"spiffe://cluster.local/ns/a/sa/b#frag", "fragment"},
      {"spiffe://user@cluster.local/ns/a/sa/b", "userinfo"},
      {"spiffe://cluster.local:443/ns/a/sa/b", "port"},
      {"spiffe://cluster.local/ns/a/sa/b/", "empty path segment"},
      {"spiffe://cluster.local//ns/a/sa/b", "empty path segment"},
      {"spiffe://cluster.local/ns//sa/b", "empty path segment"},
      {"spiffe://cluster.local/ns/a/sa/", "empty path segment"},
      {"spiffe:///ns/a/sa/b", "trust domain is empty"},
      {"spiffe://", "trust domain is empty"},
      {"spiffe://cluster.local", "no path"},
      {"spiffe://cluster.local/", "empty path segment"},
      {"spiffe://cluster.local/ns/a", "not /ns/<namespace>/sa/<account>"},
      {"spiffe://cluster.local/ns/a/sa", "not /ns/<namespace>/sa/<account>"},
      {"spiffe://cluster.local/sa/b/ns/a", "not /ns/<namespace>/sa/<account>"},
      {"spiffe://cluster.local/NS/a/sa/b", "not /ns/<namespace>/sa/<account>"},
      {"spiffe://cluster.local/ns/A/sa/b", "namespace \"A\" is not a DNS-1123 label"},
      {"spiffe://cluster.local/ns/a.b/sa/c", "namespace \"a.b\" is not a DNS-1123 label"},
      {"spiffe://cluster.local/ns/a/sa/B", "service account \"B\" is not a DNS-1123 subdomain"},
      {"spiffe://cluster.local/ns/a/sa/b_c", "not a DNS-1123 subdomain"},
      {"spiffe://cluster.local/ns/-a/sa/b", "not a DNS-1123 label"},
      {" spiffe://cluster.local/ns/a/sa/b", "does not start"},
      {"spiffe://cluster.local/ns/a/sa/b ", "space or a control character"},
      {"spiffe://cluster.local/ns/a/sa/b\n", "space or a control character"},
      {"spiffe://cluster.local/ns/a b/sa/c", "space or a control character"},
      {std::string("spiffe://cluster.local/ns/a/sa/b\0x", 36), "space or a control character"},
      {"spiffe://cluster.local/ns/a/sa/b\xc3\xa9", "non-ASCII"},
      {"spiffe://cluster.local/ns/a\\b/sa/c", "backslash"},
      {"spiffe://cluster..local/ns/a/sa/b", "not a DNS name"},
      {"spiffe://.cluster.local/ns/a/sa/b", "not a DNS name"},
      {"spiffe://cluster.local./ns/a/sa/b", "not a DNS name"},
      {"spiffe://cluster_local/ns/a/sa/b", "not a DNS name"},
      {"spiffe://[::1]/ns/a/sa/b", "port"},
      {"spiffe://cluster.local/ns/" + std::string(64, 'a') + "/sa/b", "not a DNS-1123 label"},
      {"spiffe://cluster.local/ns/a/sa/" + std::string(3000, 'b'), "longer than 2048 bytes"},
  };
  for (const auto& c : cases) {
    INFO("uri: " << c.uri);
    auto id = parse_spiffe_id(c.uri);
    REQUIRE_FALSE(id);
    CHECK_THAT(id.error().message, Catch::Contains(c.reason));
  }
}

TEST_CASE("spiffe id: messages quote hostile input on one line and cut it", "[identity]") {
  auto id =
      parse_spiffe_id(std::string("spiffe://cluster.local/ns/a\n/sa/") + std::string(500, 'x'));
  REQUIRE_FALSE(id);
  CHECK(id.error().message.find('\n') == std::string::npos);
  CHECK(id.error().message.size() < 300);
}

TEST_CASE("spiffe id: trust domains", "[identity]") {
  CHECK(check_trust_domain("cluster.local"));
  CHECK(check_trust_domain("example.org"));
  CHECK(check_trust_domain("td"));
  CHECK(check_trust_domain(std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                           std::string(63, 'c') + "." + std::string(63, 'd')));  // 255
  CHECK_THAT(check_trust_domain("").error().message, Catch::Contains("empty"));
  CHECK_THAT(check_trust_domain("Cluster.local").error().message, Catch::Contains("lowercase"));
  CHECK_THAT(check_trust_domain("cluster.local:80").error().message,
             Catch::Contains("not a DNS name"));
  CHECK_THAT(check_trust_domain("a..b").error().message, Catch::Contains("not a DNS name"));
  CHECK_THAT(check_trust_domain(std::string(256, 'a')).error().message,
             Catch::Contains("longer than 255"));
}

TEST_CASE("spiffe id: make_identity checks every part", "[identity]") {
  auto id = make_identity("cluster.local", "shop", "web.v2");
  REQUIRE(id);
  CHECK(id->uri() == "spiffe://cluster.local/ns/shop/sa/web.v2");
  CHECK_THAT(make_identity("Cluster", "shop", "web").error().message, Catch::Contains("lowercase"));
  CHECK_THAT(make_identity("cluster.local", "", "web").error().message,
             Catch::Contains("namespace \"\" is not a DNS-1123 label"));
  CHECK_THAT(make_identity("cluster.local", "shop", "").error().message,
             Catch::Contains("service account \"\" is not a DNS-1123 subdomain"));
  CHECK_THAT(make_identity("cluster.local", "shop", "a/b").error().message,
             Catch::Contains("not a DNS-1123 subdomain"));
}

TEST_CASE("spiffe id: from a service account's username", "[identity]") {
  auto id = identity_from_username("cluster.local", "system:serviceaccount:shop:web");
  REQUIRE(id);
  CHECK(*id == WorkloadIdentity{"cluster.local", "shop", "web"});
  CHECK_THAT(identity_from_username("cluster.local", "system:node:n1").error().message,
             Catch::Contains("not a service account"));
  CHECK_THAT(identity_from_username("cluster.local", "alice").error().message,
             Catch::Contains("not a service account"));
  CHECK_THAT(identity_from_username("cluster.local", "system:serviceaccount:shop").error().message,
             Catch::Contains("no service account name"));
  CHECK_THAT(
      identity_from_username("cluster.local", "system:serviceaccount:shop:web:x").error().message,
      Catch::Contains("not a DNS-1123 subdomain"));
  CHECK_THAT(identity_from_username("cluster.local", "system:serviceaccount::web").error().message,
             Catch::Contains("not a DNS-1123 label"));
}
