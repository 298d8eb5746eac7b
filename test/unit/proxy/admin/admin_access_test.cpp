// Who may read what on the admin port: /config (the whole namespace's
// document) on loopback only; /version (version and document hash) and the
// probes everywhere.

#include <catch2/catch.hpp>
#include <sstream>

#include "../test_documents.h"
#include "proxy/admin/admin_server.h"

using namespace weft::proxy;

namespace {

struct Fixture {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};
  std::atomic<bool> ready{true};
  AdminState state{store, registry, ready, metrics};

  std::string get(std::string_view path, AdminCaller caller) {
    return admin_response(state, "GET", path, false, caller);
  }
};

tcp::endpoint at(const char* address) {
  return {asio::ip::make_address(address), 4191};
}

}  // namespace

TEST_CASE("the admin caller is loopback only on a loopback local address", "[admin]") {
  CHECK(admin_caller(at("127.0.0.1")) == AdminCaller::kLoopback);
  CHECK(admin_caller(at("127.0.0.53")) == AdminCaller::kLoopback);
  CHECK(admin_caller(at("::1")) == AdminCaller::kLoopback);
  CHECK(admin_caller(at("::ffff:127.0.0.1")) == AdminCaller::kLoopback);
  CHECK(admin_caller(at("10.0.0.1")) == AdminCaller::kNetwork);
  CHECK(admin_caller(at("::ffff:10.0.0.1")) == AdminCaller::kNetwork);
  CHECK(admin_caller(at("fd00::1")) == AdminCaller::kNetwork);
}

TEST_CASE("/config is refused off loopback, and counted", "[admin]") {
  Fixture f;
  REQUIRE(f.store.offer(testing::text_of(testing::routed_document()), ConfigSource::kFile) ==
          OfferResult::kAccepted);
  const std::string refused = f.get("/config", AdminCaller::kNetwork);
  CHECK_THAT(refused, Catch::StartsWith("HTTP/1.1 403"));
  CHECK_THAT(refused, !Catch::Contains("10.96.0.10"));  // nothing of the document
  CHECK_THAT(refused, !Catch::Contains("X-Weft-Config-Hash"));
  CHECK(f.metrics.admin_forbidden_total.with_labels({"/config"}).value() == 1);
  CHECK_THAT(f.get("/config", AdminCaller::kLoopback), Catch::StartsWith("HTTP/1.1 200"));
  // The probes and the scrape stay reachable from the network.
  for (const char* path : {"/live", "/ready", "/metrics", "/version"}) {
    CAPTURE(path);
    CHECK_THAT(f.get(path, AdminCaller::kNetwork), Catch::StartsWith("HTTP/1.1 200"));
  }
}

TEST_CASE("/version tells the version and the hash of the document served", "[admin]") {
  Fixture f;
  CHECK_THAT(f.get("/version", AdminCaller::kNetwork),
             Catch::EndsWith("{\"version\":\"" + std::string(proxy_version()) +
                             "\",\"configHash\":null}\n"));
  CHECK_THAT(std::string(proxy_version()), Catch::StartsWith("v"));
  auto document = testing::routed_document();
  REQUIRE(f.store.offer(testing::text_of(document), ConfigSource::kFile) == OfferResult::kAccepted);
  const std::string first_hash = f.store.current()->hash();
  const std::string first = f.get("/version", AdminCaller::kNetwork);
  CHECK_THAT(first, Catch::Contains("\"configHash\":\"" + first_hash + "\""));
  CHECK_THAT(first, Catch::Contains("Content-Type: application/json"));
  CHECK_THAT(first, !Catch::Contains("10.96.0.10"));

  document.outbound.services[0].cluster_ips = {"10.96.0.20"};
  REQUIRE(f.store.offer(testing::text_of(document), ConfigSource::kFile) == OfferResult::kAccepted);
  const std::string second = f.get("/version", AdminCaller::kNetwork);
  CHECK(f.store.current()->hash() != first_hash);
  CHECK_THAT(second, Catch::Contains("\"configHash\":\"" + f.store.current()->hash() + "\""));
}
