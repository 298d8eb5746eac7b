// The client's TLS: never below TLS 1.2, a rotating in-cluster CA followed,
// IPv6 API servers reached by bracketed URLs.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tls_probe_server.h"
#include "weft/http/certificates.h"
#include "weft/kube/client.h"
#include "weft/kube/config.h"

namespace fs = std::filesystem;
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

// A service-account directory as the kubelet mounts it.
struct ServiceAccountDir {
  fs::path path;
  explicit ServiceAccountDir(const std::string& ca) {
    char pattern[] = "/tmp/weft-kube-tls-XXXXXX";
    path = mkdtemp(pattern);
    write("token", "t0ken");
    write("namespace", "weft-system");
    write("ca.crt", ca);
  }
  ~ServiceAccountDir() { fs::remove_all(path); }
  // Written aside and renamed, as the kubelet swaps a projected volume.
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path / (name + ".new")) << content;
    fs::rename(path / (name + ".new"), path / name);
  }
};

}  // namespace

TEST_CASE("the client offers nothing older than TLS 1.2", "[client][tls]") {
  const Pki pki = make_pki("127.0.0.1");
  TlsProbeServer server(pki.serving.cert, pki.serving.key);
  REQUIRE(server.ok());
  weft::kube::ClientConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(server.port());
  config.ca_pem = pki.ca.cert;
  auto client = weft::kube::Client::from_config(config);
  REQUIRE(client);
  auto response = (*client)->raw(weft::kube::RawRequest{"GET", "/version"});
  REQUIRE(response);
  CHECK(response->status == 200);
  const auto offered = server.lowest_offered();
  REQUIRE_FALSE(offered.empty());
  for (const int lowest : offered) CHECK(lowest >= TLS1_2_VERSION);
}

TEST_CASE("a rotated in-cluster CA is read again", "[client][tls]") {
  const Pki first = make_pki("127.0.0.1");
  const Pki second = make_pki("127.0.0.1");
  TlsProbeServer server(first.serving.cert, first.serving.key);
  REQUIRE(server.ok());
  const ServiceAccountDir dir(first.ca.cert);
  auto config =
      weft::kube::load_in_cluster_config(dir.path, "127.0.0.1", std::to_string(server.port()));
  REQUIRE(config);
  CHECK(config->ca_file == (dir.path / "ca.crt").string());
  auto client = weft::kube::Client::from_config(*config);
  REQUIRE(client);
  auto before = (*client)->raw(weft::kube::RawRequest{"GET", "/version"});
  REQUIRE(before);
  CHECK(before->status == 200);

  // The cluster's CA rotates: the server presents a certificate of the new CA
  // and the kubelet updates ca.crt in place.
  server.set_certificate(second.serving.cert, second.serving.key);
  dir.write("ca.crt", second.ca.cert);
  auto after = (*client)->raw(weft::kube::RawRequest{"GET", "/version"});
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("an IPv6 API server is reached through a bracketed URL", "[client][tls][ipv6]") {
  CHECK(weft::kube::url_authority("fd00::1", "443") == "[fd00::1]:443");
  CHECK(weft::kube::url_authority("[fd00::1]", "443") == "[fd00::1]:443");
  CHECK(weft::kube::url_authority("10.96.0.1", "443") == "10.96.0.1:443");
  CHECK(weft::kube::url_authority("kubernetes.default.svc", "443") == "kubernetes.default.svc:443");

  const Pki pki = make_pki("::1");
  TlsProbeServer server(pki.serving.cert, pki.serving.key, /*ipv6=*/true);
  if (!server.ok()) {
    WARN("no IPv6 loopback here: only the URL forms were checked");
    return;
  }
  const ServiceAccountDir dir(pki.ca.cert);
  for (const std::string host : {"::1", "[::1]"}) {
    auto config = weft::kube::load_in_cluster_config(dir.path, host, std::to_string(server.port()));
    REQUIRE(config);
    CHECK(config->server == "https://[::1]:" + std::to_string(server.port()));
    auto client = weft::kube::Client::from_config(*config);
    REQUIRE(client);
    auto response = (*client)->raw(weft::kube::RawRequest{"GET", "/version"});
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  const auto heads = server.request_heads();
  REQUIRE(heads.size() == 2);
  CHECK(heads[0].find("Host: [::1]:" + std::to_string(server.port())) != std::string::npos);
}
