#include "proxy/config/config_store.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "test_documents.h"

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

TEST_CASE("the lagging file cannot bring back what the watch replaced", "[config_store]") {
  Fixture f;
  REQUIRE(f.store.offer(version(2), ConfigSource::kApi) == OfferResult::kAccepted);
  REQUIRE(f.store.offer(version(1), ConfigSource::kApi) == OfferResult::kAccepted);
  // The kubelet now writes the first version into the file: older, ignored.
  CHECK(f.store.offer(version(2), ConfigSource::kFile) == OfferResult::kSuperseded);
  CHECK(f.store.current()->targets()[0].endpoints.size() == 1);
  // A document the watch never delivered is new, from whichever source.
  CHECK(f.store.offer(version(0), ConfigSource::kFile) == OfferResult::kAccepted);
}
