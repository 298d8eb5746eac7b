// The inbound policies are compiled once per change of the document or of
// the pod's labels, and published with a generation the workers follow; the
// labels file's bad contents keep the last good labels, counted.
#include "proxy/config/pod_labels_source.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "../test_documents.h"
#include "proxy/config/config_store.h"

using namespace weft::proxy;
namespace pc = weft::proxyconfig;

namespace {

struct Fixture {
  weft::Registry registry;
  ProxyMetrics metrics{registry};
  std::ostringstream log_lines;
  weft::Logger log{"proxy", weft::LogLevel::kInfo, weft::ostream_sink(log_lines)};
  ConfigStore store{metrics, log};
};

// Strict on every port for pods labelled app=web.
std::string strict_for_web() {
  auto document = testing::routed_document();
  pc::InboundPolicy policy;
  policy.name = "strict-web";
  policy.pod_selector.match_labels = {{"app", "web"}};
  policy.mtls = pc::MtlsMode::kStrict;
  document.inbound.policies = {policy};
  return testing::text_of(document);
}

}  // namespace

TEST_CASE("before any document, the policies allow everything", "[config_store][authz]") {
  Fixture f;
  REQUIRE(f.store.policies() != nullptr);
  CHECK(f.store.policies()->mtls_mode(8080) == pc::MtlsMode::kPermissive);
}

TEST_CASE("policies are compiled again when the document or the labels change",
          "[config_store][authz]") {
  Fixture f;
  REQUIRE(f.store.offer(strict_for_web(), ConfigSource::kFile) == OfferResult::kAccepted);
  const auto after_document = f.store.policy_generation();
  CHECK(after_document > 0);
  CHECK(f.store.policies()->mtls_mode(8080) == pc::MtlsMode::kPermissive);  // no labels yet

  CHECK(offer_pod_labels("app=\"web\"\n", f.store, f.metrics, f.log));
  CHECK(f.store.policy_generation() == after_document + 1);
  CHECK(f.store.policies()->mtls_mode(8080) == pc::MtlsMode::kStrict);

  // The same labels again: nothing compiled.
  CHECK(offer_pod_labels("app=\"web\"\n", f.store, f.metrics, f.log));
  CHECK(f.store.policy_generation() == after_document + 1);
  // Nor for the same document.
  CHECK(f.store.offer(strict_for_web(), ConfigSource::kFile) == OfferResult::kUnchanged);
  CHECK(f.store.policy_generation() == after_document + 1);

  // A bad file keeps the last good labels.
  CHECK_FALSE(offer_pod_labels("no equals sign\n", f.store, f.metrics, f.log));
  CHECK(f.store.policy_generation() == after_document + 1);
  CHECK(f.store.policies()->mtls_mode(8080) == pc::MtlsMode::kStrict);
  CHECK(f.metrics.pod_labels_reload_total.with_labels({"error"}).value() == 1);
  CHECK(f.metrics.pod_labels_reload_total.with_labels({"ok"}).value() == 2);
  CHECK(f.log_lines.str().find("pod labels refused") != std::string::npos);

  CHECK(offer_pod_labels("app=\"api\"\n", f.store, f.metrics, f.log));
  CHECK(f.store.policies()->mtls_mode(8080) == pc::MtlsMode::kPermissive);
}

TEST_CASE("with a labels file expected, nothing is allowed until it has been read",
          "[config_store][authz]") {
  // Otherwise a pod whose labels cannot be read would fall back to whatever
  // selects every pod, typically allowing what a label-selected policy denies.
  Fixture f;
  f.store.expect_pod_labels();
  REQUIRE(f.store.offer(testing::text_of(testing::routed_document()), ConfigSource::kFile) ==
          OfferResult::kAccepted);
  const authz::Client client{"", boost::asio::ip::make_address("10.0.0.9")};
  const authz::Decision before = f.store.policies()->decide(8080, client, {"GET", "/"});
  CHECK_FALSE(before.allowed);
  CHECK(before.policy == "default:deny");
  CHECK_FALSE(f.store.policies()
                  ->decide_connection(8080, client, authz::InboundPolicies::Opaque::kDeclared)
                  .allowed);

  CHECK_FALSE(offer_pod_labels("not labels\n", f.store, f.metrics, f.log));
  CHECK_FALSE(f.store.policies()->decide(8080, client, {"GET", "/"}).allowed);

  CHECK(offer_pod_labels("app=\"web\"\n", f.store, f.metrics, f.log));
  CHECK(f.store.policies()->decide(8080, client, {"GET", "/"}).allowed);
  // An empty labels file is labels read: a pod may have none.
  CHECK(offer_pod_labels("", f.store, f.metrics, f.log));
  CHECK(f.store.policies()->decide(8080, client, {"GET", "/"}).allowed);
}
