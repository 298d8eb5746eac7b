// mTLS across namespaces, on the operator's side: which Services a meshed
// namespace offers the others (every ready endpoint meshed, one identity),
// the documents that list them, and the reconciles that a change of them
// queues (mesh_exports.h, reconciler.h).

#include "operator/mesh_exports.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "operator/options.h"
#include "operator/reconciler.h"
#include "plan_helpers.h"
#include "recording_writer.h"
#include "weft/metrics.h"

using nlohmann::json;
using namespace weft::op;
namespace pc = weft::proxyconfig;
using op_test::RecordingWriter;
using weft::op::test::document_of;
using weft::op::test::kAnchorPem;
using Strings = std::vector<std::string>;

namespace {

json meta(const std::string& ns, const std::string& name) {
  return {{"name", name}, {"namespace", ns}, {"uid", ns + "-" + name}, {"resourceVersion", "7"}};
}

struct Fixture {
  std::ostringstream log_text;
  weft::Logger logger{"operator", weft::LogLevel::kInfo, weft::ostream_sink(log_text)};
  weft::Registry registry;
  OperatorMetrics metrics{registry};
  Caches caches;
  RecordingWriter writer;
  Strings enqueued;
  Reconciler reconciler{caches, writer, logger, metrics,
                        // (No pacing of propagations here: a test of its own has it.)
                        ReconcilerOptions{{},
                                          [] { return true; },
                                          [] { return std::string("2026-01-01T00:00:00Z"); },
                                          true,
                                          {},
                                          std::chrono::milliseconds(0)},
                        [this](const std::string& key) { enqueued.push_back(key); }};

  Fixture() {
    caches.control_plane_ns = "ops";
    json anchors = {{"metadata", {{"name", "weft-identity-trust-anchors"}, {"namespace", "ops"}}},
                    {"data", {{"ca-bundle.crt", kAnchorPem}}}};
    caches.trust_anchors.upsert(
        {"ops", "weft-identity-trust-anchors"},
        std::make_shared<const TrustAnchorsModel>(parse_trust_anchors(anchors)));
    add_namespace("shop", true);
    add_namespace("pay", true);
    add_namespace("plain", false);
    add_service("pay", "api", "10.96.5.5", {80, 9090});
    add_endpoints("pay", "api", {{"10.244.1.1", "api-1"}, {"10.244.1.2", "api-2"}});
    add_pod("pay", "api-1", "api", true);
    add_pod("pay", "api-2", "api", true);
  }

  void add_namespace(const std::string& name, bool meshed) {
    json labels = json::object();
    if (meshed) labels["weft.io/inject"] = "enabled";
    json ns = {{"metadata", {{"name", name}, {"uid", "ns-" + name}, {"labels", labels}}}};
    caches.namespaces.upsert({"", name},
                             std::make_shared<const NamespaceModel>(parse_namespace(ns)));
  }
  void add_service(const std::string& ns, const std::string& name, const std::string& ip,
                   std::vector<int> ports) {
    json port_list = json::array();
    for (int port : ports) {
      port_list.push_back(
          {{"name", "p" + std::to_string(port)}, {"port", port}, {"protocol", "TCP"}});
    }
    json object = {{"metadata", meta(ns, name)},
                   {"spec",
                    {{"clusterIPs", ip.empty() ? json::array() : json{ip}},
                     {"selector", {{"app", name}}},
                     {"ports", port_list}}}};
    caches.services.upsert({ns, name}, std::make_shared<const ServiceModel>(parse_service(object)));
  }
  // One slice serving every port of the Service, on the same numbers.
  void add_endpoints(const std::string& ns, const std::string& service,
                     std::vector<std::pair<std::string, std::string>> pods) {
    const auto found = cached(caches.services, ns, service);
    REQUIRE(found);
    json slice_meta = meta(ns, service + "-slice");
    slice_meta["labels"] = {{"kubernetes.io/service-name", service}};
    json ports = json::array();
    for (const auto& port : found->ports) {
      ports.push_back({{"name", port.name}, {"port", port.port}, {"protocol", "TCP"}});
    }
    json endpoints = json::array();
    for (const auto& [ip, pod] : pods) {
      endpoints.push_back({{"addresses", {ip}},
                           {"conditions", {{"ready", true}}},
                           {"targetRef", {{"kind", "Pod"}, {"name", pod}, {"namespace", ns}}}});
    }
    json slice = {{"metadata", slice_meta},
                  {"addressType", "IPv4"},
                  {"ports", ports},
                  {"endpoints", endpoints}};
    caches.endpoint_slices.upsert(
        {ns, service + "-slice"},
        std::make_shared<const EndpointSliceModel>(parse_endpoint_slice(slice)));
  }
  // `opaque_ports`: the proxy's WEFT_PROXY_OPAQUE_PORTS, as the webhook writes it.
  void add_pod(const std::string& ns, const std::string& name, const std::string& account,
               bool meshed, const std::string& opaque_ports = "") {
    json spec = {{"serviceAccountName", account},
                 {"containers", {{{"name", "app"}}}},
                 {"initContainers", json::array()}};
    json m = meta(ns, name);
    if (meshed) {
      json proxy = {{"name", "weft-proxy"}, {"restartPolicy", "Always"}};
      if (!opaque_ports.empty()) {
        proxy["env"] = {{{"name", "WEFT_PROXY_OPAQUE_PORTS"}, {"value", opaque_ports}}};
      }
      spec["initContainers"].push_back(proxy);
      m["annotations"] = {{"weft.io/injection-seal", "sha256:0123abcd"}};
    }
    caches.pods.upsert(
        {ns, name}, std::make_shared<const PodModel>(parse_pod({{"metadata", m}, {"spec", spec}})));
  }

  std::vector<pc::MeshedService> exports(const std::string& ns) const {
    return exported_services(caches.gather(ns));
  }
  void reconcile(const std::string& key) { REQUIRE(reconciler.reconcile(key).has_value()); }
  // The document last applied for `ns`.
  pc::Document applied(const std::string& ns) const {
    const auto calls = writer.calls();
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
      if (it->kind == "ConfigMap" && it->name == weft::kProxyConfigMapName && it->ns == ns &&
          it->verb == "apply") {
        auto parsed =
            pc::parse(it->body["data"][std::string(weft::kProxyConfigKey)].get<std::string>());
        REQUIRE(parsed.has_value());
        return parsed->document;
      }
    }
    FAIL("no ConfigMap applied for " << ns);
    return {};
  }
};

}  // namespace

TEST_CASE("mesh exports: a Service whose ready endpoints are all meshed, one identity",
          "[mesh_exports]") {
  Fixture f;
  const auto exports = f.exports("pay");
  REQUIRE(exports.size() == 1);
  CHECK(exports[0] == pc::MeshedService{.ns = "pay",
                                        .name = "api",
                                        .cluster_ips = {"10.96.5.5"},
                                        .ports = {80, 9090},
                                        .identity = "spiffe://cluster.local/ns/pay/sa/api"});
}

TEST_CASE("mesh exports: a port that one endpoint's proxy treats as opaque is listed so",
          "[mesh_exports]") {
  Fixture f;
  f.add_pod("pay", "api-2", "api", true, "9090,10000-10010");
  const auto exports = f.exports("pay");
  REQUIRE(exports.size() == 1);
  CHECK(exports[0].ports == std::vector<std::uint16_t>{80, 9090});
  // kube-proxy may pick api-2 for 9090: the port is opaque; 80 is not.
  CHECK(exports[0].opaque_ports == std::vector<std::uint16_t>{9090});
  // Written into the other namespaces' documents, and read back by proxies.
  f.reconcile("shop");
  const auto shop = f.applied("shop");
  REQUIRE(shop.outbound.other_namespaces.size() == 1);
  CHECK(shop.outbound.other_namespaces[0].opaque_ports == std::vector<std::uint16_t>{9090});
  // No opaque port: the field stays out of the document.
  f.add_pod("pay", "api-2", "api", true);
  CHECK(f.exports("pay")[0].opaque_ports.empty());
}

TEST_CASE("mesh exports: what other namespaces cannot reach over mTLS is left out",
          "[mesh_exports]") {
  Fixture f;
  SECTION("one endpoint is a plain pod (a rollout into the mesh)") {
    f.add_pod("pay", "api-2", "api", false);
    CHECK(f.exports("pay").empty());
  }
  SECTION("an endpoint's pod is not known") {
    f.add_endpoints("pay", "api", {{"10.244.1.1", "api-1"}, {"10.244.1.9", "gone"}});
    CHECK(f.exports("pay").empty());
  }
  SECTION("endpoints of two ServiceAccounts") {
    f.add_pod("pay", "api-2", "api-canary", true);
    CHECK(f.exports("pay").empty());
  }
  SECTION("a headless Service") {
    f.add_service("pay", "api", "", {80, 9090});
    CHECK(f.exports("pay").empty());
  }
  SECTION("no ready endpoint") {
    f.add_endpoints("pay", "api", {});
    CHECK(f.exports("pay").empty());
  }
  SECTION("the namespace is gone") {
    f.caches.namespaces.erase({"", "pay"});
    CHECK(f.exports("pay").empty());
  }
  SECTION("the namespace is not labelled, its pods opted in by annotation: still exported") {
    f.add_namespace("pay", false);
    CHECK_FALSE(f.exports("pay").empty());
  }
  SECTION("the mesh has no trust bundle") {
    f.caches.trust_anchors.erase({"ops", "weft-identity-trust-anchors"});
    CHECK(f.exports("pay").empty());
  }
}

TEST_CASE("mesh exports: other namespaces' documents list them, their own does not",
          "[mesh_exports][reconciler]") {
  Fixture f;
  f.reconcile("shop");
  const auto shop = f.applied("shop");
  REQUIRE(shop.outbound.other_namespaces.size() == 1);
  CHECK(shop.outbound.other_namespaces[0].ns == "pay");
  CHECK(shop.outbound.other_namespaces[0].identity == "spiffe://cluster.local/ns/pay/sa/api");
  f.reconcile("pay");
  CHECK(f.applied("pay").outbound.other_namespaces.empty());

  SECTION("a plain namespace's Services are never listed") {
    f.add_service("plain", "db", "10.96.7.7", {5432});
    f.add_endpoints("plain", "db", {{"10.244.2.1", "db-1"}});
    f.add_pod("plain", "db-1", "db", true);  // even with a proxy container
    f.reconcile("shop");
    CHECK(f.applied("shop").outbound.other_namespaces.size() == 1);
  }
}

TEST_CASE("mesh exports: a change queues every other meshed namespace, once",
          "[mesh_exports][reconciler]") {
  Fixture f;
  f.reconcile("pay");  // first sight: the others may not know them yet
  CHECK(f.enqueued == Strings{"shop"});
  f.enqueued.clear();
  f.reconcile("pay");  // nothing changed
  CHECK(f.enqueued.empty());

  f.add_pod("pay", "api-2", "api", false);  // now mixed: no longer offered
  f.reconcile("pay");
  CHECK(f.enqueued == Strings{"shop"});
  f.enqueued.clear();
  f.reconcile("shop");
  CHECK(f.applied("shop").outbound.other_namespaces.empty());
  CHECK(f.enqueued.empty());  // shop offers nothing: no change to propagate

  f.add_pod("pay", "api-2", "api", true);
  f.add_namespace("pay", false);  // unlabelled, yet its pods are meshed: offered again
  f.reconcile("pay");
  CHECK(f.enqueued == Strings{"shop"});
  f.enqueued.clear();
  f.add_namespace("pay", true);
  f.reconcile("pay");
  CHECK(f.enqueued.empty());  // the same exports
  f.enqueued.clear();
  f.caches.namespaces.erase({"", "pay"});  // deleted
  f.reconcile("pay");
  CHECK(f.enqueued == Strings{"shop"});
}

TEST_CASE("mesh exports: --mtls-across-namespaces=false lists none and queues nothing",
          "[mesh_exports][reconciler]") {
  Fixture f;
  Reconciler off{
      f.caches,
      f.writer,
      f.logger,
      f.metrics,
      ReconcilerOptions{
          {}, [] { return true; }, [] { return std::string("2026-01-01T00:00:00Z"); }, false},
      [&f](const std::string& key) { f.enqueued.push_back(key); }};
  REQUIRE(off.reconcile("pay").has_value());
  CHECK(f.enqueued.empty());
  REQUIRE(off.reconcile("shop").has_value());
  CHECK(f.applied("shop").outbound.other_namespaces.empty());
  CHECK(parse_options({"--mtls-across-namespaces", "false"})->mtls_across_namespaces == false);
  CHECK(parse_options({})->mtls_across_namespaces);
}

TEST_CASE("mesh exports: a document too large with them is written without them",
          "[mesh_exports][plan]") {
  Fixture f;
  NamespaceInput input = f.caches.gather("shop");
  // Enough Services of other namespaces to pass the ConfigMap limit.
  for (int i = 0; i < 9000; ++i) {
    input.other_namespaces.push_back(
        {.ns = "pay",
         .name = "service-with-a-long-name-" + std::to_string(100000 + i),
         .cluster_ips = {"10.96." + std::to_string(i / 250) + "." + std::to_string(i % 250)},
         .ports = {80, 443, 8080},
         .identity = "spiffe://cluster.local/ns/pay/sa/a-long-service-account-name"});
  }
  const auto plan = plan_namespace(input, "2026-01-01T00:00:00Z");
  CHECK(plan.other_namespaces_dropped);
  CHECK_FALSE(plan.too_large);
  CHECK(document_of(plan).outbound.other_namespaces.empty());
  input.other_namespaces.resize(10);
  const auto small = plan_namespace(input, "2026-01-01T00:00:00Z");
  CHECK_FALSE(small.other_namespaces_dropped);
  CHECK(document_of(small).outbound.other_namespaces.size() == 10);
}

TEST_CASE("mesh exports: one namespace adds a bounded amount to the others' documents",
          "[mesh_exports][limits]") {
  Fixture f;
  // A Service with many ports, and many Services, all meshed.
  f.add_service("pay", "wide", "10.96.5.6", {1, 2, 3, 4, 5});
  f.add_endpoints("pay", "wide", {{"10.244.1.1", "api-1"}});
  for (int i = 0; i < 4; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    f.add_service("pay", name, "10.96.6." + std::to_string(i + 1), {80});
    f.add_endpoints("pay", name, {{"10.244.1.2", "api-2"}});
  }
  std::size_t left_out = 99;
  const auto all = exported_services(f.caches.gather("pay"), {}, &left_out);
  CHECK(all.size() == 6);  // api, svc-0..3, wide
  CHECK(left_out == 0);
  const auto limited =
      exported_services(f.caches.gather("pay"), {.max_services = 3, .max_ports = 4}, &left_out);
  // wide (5 ports) is left out; of the rest, the first 3 by name.
  REQUIRE(limited.size() == 3);
  CHECK(limited[0].name == "api");
  CHECK(limited[2].name == "svc-1");
  CHECK(left_out == 3);  // wide, svc-2, svc-3
  CHECK(exported_services(f.caches.gather("pay"), {.max_services = 0, .max_ports = 16}).empty());
  CHECK(parse_options({"--max-exported-services", "7"})->max_exported_services == 7);
  CHECK(parse_options({})->max_exported_ports == 16);
  CHECK_FALSE(parse_options({"--max-exported-ports", "0"}).has_value());
}

TEST_CASE("mesh exports: one propagation per interval; a change undone meanwhile still goes",
          "[mesh_exports][reconciler]") {
  Fixture f;
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  Reconciler paced{f.caches,
                   f.writer,
                   f.logger,
                   f.metrics,
                   ReconcilerOptions{
                       .namespace_selector = {},
                       .may_write = [] { return true; },
                       .now = [] { return std::string("2026-01-01T00:00:00Z"); },
                       .mtls_across_namespaces = true,
                       .export_limits = {},
                       .export_propagation_interval = std::chrono::seconds(10),
                       // Proxy health never asks for a reconcile here.
                       .proxy_health = {"", std::chrono::minutes(10), std::chrono::minutes(10), {}},
                       .proxy_health_write_interval = {},
                       .steady_now = [&now] { return now; }},
                   [&f](const std::string& key) { f.enqueued.push_back(key); }};
  const auto reconcile = [&](const std::string& key) {
    auto action = paced.reconcile(key);
    REQUIRE(action.has_value());
    return action->requeue_after;
  };
  CHECK_FALSE(reconcile("pay"));  // the first propagation: at once
  CHECK(f.enqueued == Strings{"shop"});
  f.enqueued.clear();

  now += std::chrono::seconds(3);
  f.add_pod("pay", "api-2", "api", false);  // a change within the interval
  CHECK(reconcile("pay") == std::chrono::milliseconds(7000));
  CHECK(f.enqueued.empty());
  CHECK(f.metrics.export_propagations_deferred.value() == 1);

  now += std::chrono::seconds(2);
  f.add_pod("pay", "api-2", "api", true);  // undone: others may have read it meanwhile
  CHECK(reconcile("pay") == std::chrono::milliseconds(5000));
  CHECK(f.enqueued.empty());

  now += std::chrono::seconds(5);  // the interval is over: propagated
  CHECK_FALSE(reconcile("pay"));
  CHECK(f.enqueued == Strings{"shop"});
  f.enqueued.clear();
  now += std::chrono::seconds(30);
  CHECK_FALSE(reconcile("pay"));  // nothing pending, nothing changed
  CHECK(f.enqueued.empty());
  CHECK(parse_options({"--export-propagation-interval", "30s"})->export_propagation_interval ==
        std::chrono::seconds(30));
}
