// Path-confusion attempts against authorization: each runs the real
// normaliser (proxy/request/path.h) and then the real decision
// (proxy/authz/inbound_policy.h) with a policy that allows only the /public
// prefix. An attempt must be refused (400) or denied (403), never allowed.

#include <catch2/catch.hpp>
#include <string>

#include "proxy/authz/inbound_policy.h"
#include "proxy/request/path.h"

namespace pc = weft::proxyconfig;
using weft::proxy::normalize_path;
using weft::proxy::authz::Client;
using weft::proxy::authz::HttpRequest;
using weft::proxy::authz::InboundPolicies;
using Verdict = weft::proxy::PathNormalization::Verdict;

namespace {

std::shared_ptr<const InboundPolicies> public_only() {
  pc::Document d;
  d.ns = "shop";
  pc::InboundPolicy policy;
  policy.name = "public-only";
  pc::Authorization authorization;
  authorization.default_action = pc::AuthorizationAction::kDeny;
  pc::AuthorizationRule rule;
  rule.paths = {{pc::AuthorizationPathType::kPathPrefix, "/public"}};
  authorization.rules = {rule};
  policy.authorization = authorization;
  d.inbound.policies = {policy};
  return InboundPolicies::compile(d, {});
}

// 400, 403 or 200, as the request path would answer.
int status_of(std::string_view raw_path) {
  static const auto policies = public_only();
  std::string out;
  const auto normal = normalize_path(raw_path, out);
  if (normal.verdict == Verdict::kRefused) {
    CHECK_FALSE(normal.reason.empty());
    return 400;
  }
  const std::string_view path = normal.verdict == Verdict::kNormalized ? out : raw_path;
  const Client client{"", boost::asio::ip::make_address("10.0.0.1")};
  return policies->decide(8080, client, HttpRequest{"GET", path}).allowed ? 200 : 403;
}

}  // namespace

TEST_CASE("authorization bypass attempts are refused or denied", "[authz][bypass]") {
  const std::string attempt = GENERATE(
      as<std::string>{},
      // Envoy CVE-2019-9901: ".." segments not normalised before matching.
      "/public/../admin", "/public/./../admin", "/public/x/../../admin", "/public/..",
      "/public/../../../admin",
      // The same with encoded dots (decoded as unreserved, then resolved).
      "/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin", "/public/%2e./admin",
      // Istio CVE-2021-31920: encoded slash or backslash in the path.
      "/public%2F..%2Fadmin", "/public%2f..%2fadmin", "/public/..%2Fadmin", "/public%5C..%5Cadmin",
      "/public%5c../admin", "/admin%2Fx",
      // Raw backslash (Windows-style servers, Envoy CVE-2019-9901 follow-ups).
      "/public\\..\\admin", "/public/..\\admin", "\\admin",
      // Istio CVE-2021-39156: a fragment '#' the matcher and the server split differently.
      "/public#/../admin", "/admin#/public", "/public/#/../../admin",
      // Tomcat / Spring "..;" path parameters (CVE-2020-1957 Shiro, nginx+Tomcat confusion).
      "/public/..;/admin", "/public/..;x=1/admin", "/public/.;/admin", "/public/.;x/../admin",
      "/public/%2e%2e;/admin",
      // Double encoding (CVE-2021-31920 variants; IIS double decode CVE-2001-0333).
      "/public/%252F../admin", "/public%252F..%252Fadmin", "/public/%255C../admin",
      "/public/%2500/../admin", "/admin%2500.public", "/public/%252f..%252fadmin",
      "/public/%252e%252e/admin", "/public/%25%32%65%25%32%65/admin", "/public/%252E%252E/admin",
      // NUL truncation (raw and encoded).
      std::string("/public\0/../admin", 17), "/admin%00/public", "/public/..%00/admin",
      // Control characters (HTTP smuggling / log injection, CVE-2019-18801 class).
      "/admin%0d%0a/public", "/admin%09", "/admin%7F", "/public\t/../admin",
      // Overlong and invalid UTF-8 (CVE-2000-0884 IIS "%c0%af", unicode '/' forms).
      "/public/%c0%af../admin", "/public%c0%af..%c0%afadmin", "/public/%e0%80%af../admin",
      "/admin/%ff", "/public/..%c1%9c../admin", "/admin%ed%a0%80",
      // Merged slashes and dot segments that land on /admin.
      "//admin", "///admin/", "/./admin", "/public/../admin/", "/admin/.",
      // Prefix confusion: /publicity is not /public.
      "/publicity", "/public..", "/public.../admin",
      // Case: paths are case-sensitive, /PUBLIC is not /public.
      "/PUBLIC/x", "/Public");
  INFO("attempt: " << attempt);
  const int status = status_of(attempt);
  CHECK((status == 400 || status == 403));
}

TEST_CASE("legitimate paths under /public are still allowed", "[authz][bypass]") {
  const std::string path =
      GENERATE(as<std::string>{}, "/public", "/public/", "/public/a/b", "/public//a", "/public/./a",
               "/public/x/../y", "/public/%7Euser", "/public/caf%C3%A9", "/public/%E2%82%AC",
               "/public/a%20b", "/public/a;b=1", "/admin/../public/x");
  INFO("path: " << path);
  CHECK(status_of(path) == 200);
}

TEST_CASE("the admin path itself is denied, not refused", "[authz][bypass]") {
  CHECK(status_of("/admin") == 403);
  CHECK(status_of("/admin/x") == 403);
}
