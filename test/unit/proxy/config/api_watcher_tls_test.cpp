// The proxy's ConfigMap watch client: nothing older than TLS 1.2 offered, and
// an IPv6 API server addressed as [host]:port.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "proxy/config/api_server_access.h"
#include "proxy/config/api_watcher.h"
#include "proxy/config/config_store.h"
#include "tls_probe_server.h"
#include "weft/http/certificates.h"

using namespace weft::proxy;
using weft::test::TlsProbeServer;

namespace {

struct Pki {
  weft::http::PemCertificate ca;
  weft::http::PemCertificate serving;
};

Pki make_pki(const std::string& ip) {
  auto ca = weft::http::make_certificate_authority("test-ca", std::chrono::hours(1));
  REQUIRE(ca);
  weft::http::CertificateRequest request;
  request.common_name = "kubernetes";
  request.ip_addresses = {ip};
  auto serving = weft::http::issue_certificate(*ca, request);
  REQUIRE(serving);
  return {*ca, *serving};
}

struct Watch {
  std::filesystem::path dir;
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};
  std::unique_ptr<ApiWatcher> watcher;

  Watch(const std::string& host, std::uint16_t port, const std::string& ca) {
    char pattern[] = "/tmp/weft-proxy-watch-tls-XXXXXX";
    dir = mkdtemp(pattern);
    std::ofstream(dir / "token") << "t0ken";
    std::ofstream(dir / "ca.crt") << ca;
    ApiServerAccess access{host, port, (dir / "token").string(), (dir / "ca.crt").string(), "shop"};
    watcher = std::make_unique<ApiWatcher>(access, std::chrono::seconds(30), store, log);
    watcher->start();
  }
  ~Watch() {
    watcher.reset();
    std::filesystem::remove_all(dir);
  }
};

template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace

TEST_CASE("the authority of an IPv6 API server is bracketed", "[config][ipv6]") {
  CHECK(api_server_authority({"fd00::1", 443, "", "", ""}) == "[fd00::1]:443");
  CHECK(api_server_authority({"10.96.0.1", 6443, "", "", ""}) == "10.96.0.1:6443");
  CHECK(api_server_authority({"kubernetes.default.svc", 443, "", "", ""}) ==
        "kubernetes.default.svc:443");
}

TEST_CASE("the ConfigMap watch offers nothing older than TLS 1.2", "[config][tls]") {
  const Pki pki = make_pki("127.0.0.1");
  TlsProbeServer server(pki.serving.cert, pki.serving.key);
  REQUIRE(server.ok());
  Watch watch("127.0.0.1", server.port(), pki.ca.cert);
  REQUIRE(eventually([&] { return !server.request_heads().empty(); }));
  const auto offered = server.lowest_offered();
  REQUIRE_FALSE(offered.empty());
  for (const int lowest : offered) CHECK(lowest >= TLS1_2_VERSION);
}

TEST_CASE("the ConfigMap watch names an IPv6 API server [host]:port", "[config][ipv6]") {
  const Pki pki = make_pki("::1");
  TlsProbeServer server(pki.serving.cert, pki.serving.key, /*ipv6=*/true);
  if (!server.ok()) {
    WARN("no IPv6 loopback here");
    return;
  }
  Watch watch("::1", server.port(), pki.ca.cert);
  REQUIRE(eventually([&] { return !server.request_heads().empty(); }));
  CHECK(server.request_heads().front().find("\r\nHost: [::1]:" + std::to_string(server.port()) +
                                            "\r\n") != std::string::npos);
}
