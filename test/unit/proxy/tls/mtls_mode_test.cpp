#include "proxy/tls/mtls_mode.h"

#include <catch2/catch.hpp>

#include "proxy/tcp/detect.h"

using namespace weft::proxy;
using weft::proxyconfig::MtlsMode;

TEST_CASE("inbound detection tells the mesh's TLS from an application's", "[tls][detect]") {
  CHECK(detect_inbound_protocol("GET / HTTP/1.1\r\n") == DetectedProtocol::kHttp1);
  CHECK(detect_inbound_protocol("") == DetectedProtocol::kNeedMoreBytes);
  CHECK(detect_inbound_protocol(std::string("\x16\x03\x01", 3)) ==
        DetectedProtocol::kNeedMoreBytes);
  CHECK(detect_inbound_protocol(std::string("\x16\x03\x01\x00\x00", 5)) ==
        DetectedProtocol::kOpaque);
  // Outbound detection keeps TLS opaque at once.
  CHECK(detect_protocol(std::string("\x16\x03\x01", 3)) == DetectedProtocol::kOpaque);
}

TEST_CASE("plaintext under Strict: probes only on ports that have them", "[tls][mtls_mode]") {
  using Access = PlaintextInbound::Access;
  const std::vector<weft::ProbeRoute> probes =
      weft::canonical_probe_routes({{9090, "/m"}, {8080, "/healthz"}, {8080, "/ready"}});
  struct Case {
    MtlsMode mode;
    std::uint16_t port;
    bool http1;
    Access access;
    std::size_t routes;
  };
  const std::vector<Case> cases = {
      {MtlsMode::kPermissive, 8080, true, Access::kServed, 0},
      {MtlsMode::kPermissive, 7070, false, Access::kServed, 0},
      {MtlsMode::kStrict, 8080, true, Access::kProbesOnly, 2},
      {MtlsMode::kStrict, 9090, true, Access::kProbesOnly, 1},
      {MtlsMode::kStrict, 8080, false, Access::kRefused, 0},  // not HTTP/1: refused as before
      {MtlsMode::kStrict, 7070, true, Access::kRefused, 0},   // no probes on this port
  };
  for (const Case& c : cases) {
    INFO("port " << c.port << " http1 " << c.http1);
    const PlaintextInbound result = plaintext_inbound(c.mode, probes, c.port, c.http1);
    CHECK(result.access == c.access);
    CHECK(result.probes.size() == c.routes);
    for (const auto& route : result.probes) CHECK(route.port == c.port);
  }
  CHECK(plaintext_inbound(MtlsMode::kStrict, {}, 8080, true).access == Access::kRefused);
}
