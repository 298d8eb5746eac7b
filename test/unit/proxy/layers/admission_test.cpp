#include "proxy/layers/admission.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;

TEST_CASE("CONNECT is refused with 501; other methods go on", "[admission]") {
  Request connect;
  connect.method = "CONNECT";
  connect.authority = "example.com:443";
  const auto refused = admit(connect);
  REQUIRE(refused);
  CHECK(refused->status == 501);
  for (const char* method : {"GET", "POST", "HEAD", "OPTIONS", "DELETE"}) {
    Request request;
    request.method = method;
    request.path = "/";
    CHECK_FALSE(admit(request));
  }
}

namespace {

const std::vector<weft::ProbeRoute> kProbes = {{8080, "/healthz"}, {8080, "/ready?full=1"}};

Request plaintext_under_strict(const char* method, const char* path, const char* query = "") {
  Request request;
  request.method = method;
  request.path = path;
  request.query = query;
  request.mtls_required = true;
  request.probe_routes = kProbes;
  return request;
}

}  // namespace

TEST_CASE("under Strict, plaintext gets only the kubelet's probes through", "[admission][strict]") {
  struct Case {
    const char* method;
    const char* path;
    const char* query;
    bool admitted;
  };
  const std::vector<Case> cases = {
      {"GET", "/healthz", "", true},
      {"HEAD", "/healthz", "", true},
      {"GET", "/ready", "full=1", true},
      {"GET", "/ready", "", false},            // the probe has a query: it must match
      {"GET", "/ready", "full=1&x=2", false},  // ... exactly
      {"GET", "/healthz", "debug=1", false},   // no query in the probe: none allowed
      {"GET", "/healthz/", "", false},
      {"GET", "/healthz/admin", "", false},  // a probe path is not a prefix
      {"GET", "/health", "", false},
      {"GET", "/HEALTHZ", "", false},
      {"GET", "/heal%74hz", "", false},     // what the codec did not decode stays literal
      {"GET", "/x/../healthz", "", false},  // likewise an unnormalised path
      {"GET", "/", "", false},
      {"POST", "/healthz", "", false},
      {"PUT", "/healthz", "", false},
      {"OPTIONS", "/healthz", "", false},
      {"get", "/healthz", "", false},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path << "?" << c.query);
    const Request request = plaintext_under_strict(c.method, c.path, c.query);
    CHECK(is_kubelet_probe(request) == c.admitted);
    const auto refused = admit(request);
    CHECK(refused.has_value() != c.admitted);
    if (refused) {
      CHECK(refused->status == 403);
      CHECK(refused->close);
      CHECK(refused->reason == kMtlsRequiredReason);
      CHECK_THAT(std::string(refused->reason), Catch::Contains("mTLS is required"));
    }
  }
}

TEST_CASE("under Strict, a probe with a body or an upgrade is not a probe", "[admission][strict]") {
  Request with_body = plaintext_under_strict("GET", "/healthz");
  with_body.body = {BodySource::Kind::kSized, 4};
  CHECK(admit(with_body));
  Request upgrade = plaintext_under_strict("GET", "/healthz");
  upgrade.upgrade = true;
  CHECK(admit(upgrade));
  Request no_routes = plaintext_under_strict("GET", "/healthz");
  no_routes.probe_routes = {};
  CHECK(admit(no_routes));
}

TEST_CASE("without Strict, or over mTLS, anything goes on", "[admission][strict]") {
  Request request;
  request.method = "POST";
  request.path = "/anything";
  request.probe_routes = kProbes;
  CHECK_FALSE(admit(request));
  request.client_identity = "spiffe://cluster.local/ns/a/sa/b";
  CHECK_FALSE(admit(request));
}

TEST_CASE("probes parsed from the webhook's list match with and without a query",
          "[admission][strict][probe]") {
  const auto parsed = weft::parse_probe_routes("8080/healthz 8080/ready?full=1");
  REQUIRE(parsed);
  Request request;
  request.method = "GET";
  request.mtls_required = true;
  request.probe_routes = *parsed;
  const auto admitted = [&](const char* path, const char* query) {
    request.path = path;
    request.query = query;
    return is_kubelet_probe(request) && !admit(request);
  };
  CHECK(admitted("/healthz", ""));
  CHECK_FALSE(admitted("/healthz", "full=1"));
  CHECK(admitted("/ready", "full=1"));
  CHECK_FALSE(admitted("/ready", ""));
  CHECK_FALSE(admitted("/ready?full=1", ""));
  CHECK_FALSE(admitted("/ready", "full=12"));
}
