// Proof of concept (attacker review of mTLS across namespaces): the Runner
// reconciles two namespaces at once (--workers 2, keys grouped by namespace
// only), and every reconcile reads Reconciler::exported_ (a std::map) while a
// reconcile whose namespace's exports appear or go inserts or erases in it,
// with no lock. One namespace that flips its exports, while the reconciles it
// queues in every other namespace run, makes that race continuous. Hidden
// ([.]): on m14, in the release build, it died of SIGSEGV in exported_.erase()
// (reconciler.cpp:157) within its 5 seconds (fixed: exported_mutex_);
// attack_race_tsan.sh builds it
// with ThreadSanitizer, which names the race.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "operator/reconciler.h"
#include "plan_helpers.h"
#include "recording_writer.h"
#include "weft/metrics.h"

using nlohmann::json;
using namespace weft::op;

namespace {

void add_namespace(Caches& caches, const std::string& name) {
  json ns = {
      {"metadata",
       {{"name", name}, {"uid", "ns-" + name}, {"labels", {{"weft.io/inject", "enabled"}}}}}};
  caches.namespaces.upsert({"", name}, std::make_shared<const NamespaceModel>(parse_namespace(ns)));
}

json meta(const std::string& ns, const std::string& name) {
  return {{"name", name}, {"namespace", ns}, {"uid", ns + "-" + name}, {"resourceVersion", "7"}};
}

// Service x of `ns` at `ip`, one endpoint: pod x-1, meshed or not.
void set_exported(Caches& caches, const std::string& ns, const std::string& ip, bool meshed) {
  json service = {
      {"metadata", meta(ns, "x")},
      {"spec",
       {{"clusterIPs", {ip}}, {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}}};
  caches.services.upsert({ns, "x"}, std::make_shared<const ServiceModel>(parse_service(service)));
  json slice_meta = meta(ns, "x-slice");
  slice_meta["labels"] = {{"kubernetes.io/service-name", "x"}};
  json slice = {{"metadata", slice_meta},
                {"addressType", "IPv4"},
                {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}},
                {"endpoints",
                 {{{"addresses", {"10.244.0.1"}},
                   {"conditions", {{"ready", true}}},
                   {"targetRef", {{"kind", "Pod"}, {"name", "x-1"}, {"namespace", ns}}}}}}};
  caches.endpoint_slices.upsert(
      {ns, "x-slice"}, std::make_shared<const EndpointSliceModel>(parse_endpoint_slice(slice)));
  json spec = {{"serviceAccountName", "x"}, {"containers", {{{"name", "app"}}}}};
  json m = meta(ns, "x-1");
  if (meshed) {
    spec["initContainers"] = {{{"name", "weft-proxy"}, {"restartPolicy", "Always"}}};
    m["annotations"] = {{"weft.io/injection-seal", "sha256:0123abcd"}};
  }
  caches.pods.upsert(
      {ns, "x-1"}, std::make_shared<const PodModel>(parse_pod({{"metadata", m}, {"spec", spec}})));
}

}  // namespace

TEST_CASE("attack: two workers race on the exports last propagated", "[.][attack][race]") {
  std::ostringstream log_text;
  weft::Logger logger{"operator", weft::LogLevel::kError, weft::ostream_sink(log_text)};
  weft::Registry registry;
  OperatorMetrics metrics{registry};
  Caches caches;
  op_test::RecordingWriter writer;
  Reconciler reconciler{
      caches,
      writer,
      logger,
      metrics,
      ReconcilerOptions{
          {}, [] { return true; }, [] { return std::string("2026-01-01T00:00:00Z"); }},
      {}};
  caches.control_plane_ns = "ops";
  json anchors = {{"metadata", {{"name", "weft-identity-trust-anchors"}, {"namespace", "ops"}}},
                  {"data", {{"ca-bundle.crt", weft::op::test::kAnchorPem}}}};
  caches.trust_anchors.upsert(
      {"ops", "weft-identity-trust-anchors"},
      std::make_shared<const TrustAnchorsModel>(parse_trust_anchors(anchors)));
  constexpr int kNamespaces = 16;
  for (int i = 0; i < kNamespaces; ++i) {
    add_namespace(caches, "ns-" + std::to_string(i));
    set_exported(caches, "ns-" + std::to_string(i), "10.96.0." + std::to_string(i + 10), true);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  // Two workers, two disjoint sets of namespaces (never one namespace twice).
  auto worker = [&](int first) {
    for (int round = 0; std::chrono::steady_clock::now() < deadline; ++round) {
      for (int i = first; i < kNamespaces; i += 2) {
        const std::string ns = "ns-" + std::to_string(i);
        set_exported(caches, ns, "10.96.0." + std::to_string(i + 10), round % 2 == 0);
        REQUIRE(reconciler.reconcile(ns).has_value());
      }
    }
  };
  std::thread other(worker, 1);
  worker(0);
  other.join();
  SUCCEED("no crash this time (a ThreadSanitizer build reports the race)");
}
