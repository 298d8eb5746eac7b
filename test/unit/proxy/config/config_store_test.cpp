#include "proxy/config/config_store.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

#include "../test_documents.h"

using namespace weft::proxy;

namespace {

struct Fixture {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};

  std::uint64_t count(const std::string& source, const std::string& result) {
    return metrics.config_reload_total.with_labels({source, result}).value();
  }
};

std::string version(int endpoints) {
  auto document = testing::routed_document();
  document.outbound.services[0].ports[0].endpoints.resize(static_cast<std::size_t>(endpoints));
  return testing::text_of(document);
}

}  // namespace

TEST_CASE("before any document there is no snapshot", "[config_store]") {
  Fixture f;
  CHECK(f.store.current() == nullptr);
  CHECK(f.store.generation() == 0);
}

TEST_CASE("a valid document is accepted and swapped in", "[config_store]") {
  Fixture f;
  CHECK(f.store.offer(version(2), ConfigSource::kFile) == OfferResult::kAccepted);
  const auto first = f.store.current();
  REQUIRE(first != nullptr);
  CHECK(f.store.offer(version(1), ConfigSource::kFile) == OfferResult::kAccepted);
  CHECK(f.store.current()->targets()[0].endpoints.size() == 1);
  // A holder of the old snapshot still sees it whole (requests in flight).
  CHECK(first->targets()[0].endpoints.size() == 2);
  CHECK(f.store.generation() == 2);
  CHECK(f.count("file", "accepted") == 2);
}

TEST_CASE("an invalid document is refused, counted, logged; the last good one stays",
          "[config_store]") {
  Fixture f;
  REQUIRE(f.store.offer(version(2), ConfigSource::kFile) == OfferResult::kAccepted);
  const auto good = f.store.current();
  std::string error;
  CHECK(f.store.offer("{\"version\": 1", ConfigSource::kFile, &error) == OfferResult::kRefused);
  CHECK_THAT(error, Catch::Contains("not valid JSON"));
  std::string tampered = version(1);
  tampered.replace(tampered.find("10.0.0.1"), 8, "10.0.0.9");  // hash no longer matches
  CHECK(f.store.offer(tampered, ConfigSource::kApi, &error) == OfferResult::kRefused);
  CHECK_THAT(error, Catch::Contains("hash"));
  CHECK(f.store.current() == good);
  CHECK(f.store.generation() == 1);
  CHECK(f.count("file", "refused") == 1);
  CHECK(f.count("api", "refused") == 1);
  CHECK_THAT(f.log_lines.str(), Catch::Contains("configuration refused"));
}

TEST_CASE("the same document again changes nothing", "[config_store]") {
  Fixture f;
  REQUIRE(f.store.offer(version(2), ConfigSource::kApi) == OfferResult::kAccepted);
  CHECK(f.store.offer(version(2), ConfigSource::kFile) == OfferResult::kUnchanged);
  CHECK(f.store.generation() == 1);
}

TEST_CASE("while the watch works, an older document from the file is ignored", "[config_store]") {
  Fixture f;
  f.store.set_api_connected(true);
  REQUIRE(f.store.offer(version(2), ConfigSource::kApi) == OfferResult::kAccepted);
  REQUIRE(f.store.offer(version(1), ConfigSource::kApi) == OfferResult::kAccepted);
  // The kubelet now writes the first version into the file: older, ignored.
  CHECK(f.store.offer(version(2), ConfigSource::kFile) == OfferResult::kSuperseded);
  // A version the watch never delivered (it changed while the watch
  // reconnected) is older too: the watch delivered the newest since.
  CHECK(f.store.offer(version(0), ConfigSource::kFile) == OfferResult::kSuperseded);
  CHECK(f.store.current()->targets()[0].endpoints.size() == 1);
  CHECK(f.count("file", "superseded") == 2);
  // The watch brings back an earlier content: it is the newest.
  CHECK(f.store.offer(version(2), ConfigSource::kApi) == OfferResult::kAccepted);
  CHECK(f.store.current()->targets()[0].endpoints.size() == 2);
}

TEST_CASE("the file is trusted again once the watch has been down long enough", "[config_store]") {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log, std::chrono::milliseconds(200)};
  store.set_api_connected(true);
  REQUIRE(store.offer(version(2), ConfigSource::kApi) == OfferResult::kAccepted);
  store.set_api_connected(false);
  // Lost just now: the file may still lag behind what the watch delivered.
  CHECK(store.offer(version(1), ConfigSource::kFile) == OfferResult::kSuperseded);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Down for longer than the kubelet's lag: the file is at least as new.
  CHECK(store.offer(version(1), ConfigSource::kFile) == OfferResult::kAccepted);
  // Reconnected, the watch delivers the current version, which wins.
  store.set_api_connected(true);
  CHECK(store.offer(version(0), ConfigSource::kApi) == OfferResult::kAccepted);
  CHECK(store.offer(version(1), ConfigSource::kFile) == OfferResult::kSuperseded);
  CHECK(store.current()->targets()[0].endpoints.empty());
}

TEST_CASE("without a watch that delivered, every new file document is accepted", "[config_store]") {
  Fixture f;
  f.store.set_api_connected(true);  // connected, but the ConfigMap does not exist yet
  CHECK(f.store.offer(version(2), ConfigSource::kFile) == OfferResult::kAccepted);
  CHECK(f.store.offer(version(1), ConfigSource::kFile) == OfferResult::kAccepted);
  CHECK(f.store.offer(version(2), ConfigSource::kFile) == OfferResult::kAccepted);
}
