#include "webhook/serving_certificate.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "review_fixtures.h"
#include "webhook/service.h"
#include "weft/http/certificates.h"

namespace {

using std::chrono::hours;
using std::chrono::system_clock;

// A directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char pattern[] = "/tmp/weft-webhook-cert-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// A serving certificate valid for `validity` from now, signed by a fresh CA.
std::string serving_certificate(std::chrono::seconds validity) {
  auto ca = weft::http::make_certificate_authority("test CA", hours(24 * 365));
  REQUIRE(ca);
  weft::http::CertificateRequest request;
  request.common_name = "weft-webhook.weft-system.svc";
  request.dns_names = {"weft-webhook.weft-system.svc"};
  request.validity = validity;
  auto issued = weft::http::issue_certificate(*ca, request);
  REQUIRE(issued);
  return issued->cert;
}

double seconds_from_now(std::chrono::seconds ahead) {
  return std::chrono::duration<double>((system_clock::now() + ahead).time_since_epoch()).count();
}

// The gauge's value in a /metrics answer; -1 when the line is absent.
double exposed_expiry(const std::string& metrics) {
  const std::regex line(std::string(weft::webhook::kServingCertificateExpiryMetric) +
                        " ([0-9.e+]+)\n");
  std::smatch match;
  if (!std::regex_search(metrics, match, line)) return -1;
  return std::stod(match[1]);
}

}  // namespace

TEST_CASE("a certificate's expiry in Unix seconds, 0 when unreadable", "[serving-certificate]") {
  const double expected = seconds_from_now(hours(24 * 10));
  CHECK(weft::webhook::certificate_expiry_seconds(serving_certificate(hours(24 * 10))) ==
        Approx(expected).margin(120));
  CHECK(weft::webhook::certificate_expiry_seconds("") == 0);
  CHECK(weft::webhook::certificate_expiry_seconds("-----BEGIN CERTIFICATE-----\nnot base64\n"
                                                  "-----END CERTIFICATE-----\n") == 0);
}

TEST_CASE("/metrics reports the served certificate's expiry and follows its rotation",
          "[serving-certificate][service]") {
  TempDir dir;
  const auto cert_file = dir.path / "tls.crt";
  weft::Registry registry;
  std::ostringstream log;
  weft::Logger logger("webhook", weft::LogLevel::kInfo, weft::ostream_sink(log));
  weft::webhook::WebhookService service(weft::test::native_config(), registry, logger);
  auto routes = service.routes();
  const auto scrape = [&] {
    return exposed_expiry(routes.at("/metrics")({"GET", "/metrics", "", "", "", "", ""}).body);
  };

  SECTION("without a file to report, no series") {
    CHECK(scrape() == -1);
  }

  SECTION("with one") {
    service.report_serving_certificate(cert_file);
    // Not written yet (the provisioner has not run): 0, which the alert ignores.
    CHECK(scrape() == 0);

    std::ofstream(cert_file) << serving_certificate(hours(24 * 6));
    CHECK(scrape() == Approx(seconds_from_now(hours(24 * 6))).margin(120));

    // Rotated in place, as the provisioner writes it: the next scrape sees it.
    std::ofstream(cert_file) << serving_certificate(hours(24 * 90));
    CHECK(scrape() == Approx(seconds_from_now(hours(24 * 90))).margin(120));

    std::ofstream(cert_file) << "garbage";
    CHECK(scrape() == 0);
  }
}
