// The reconcile's I/O shell through a recording Writer: what one key writes,
// given the caches (filled here as the watches would), and what it remembers.

#include "operator/reconciler.h"

#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "recording_writer.h"
#include "weft/constants.h"
#include "weft/kube/error.h"
#include "weft/metrics.h"

using nlohmann::json;
using namespace weft::op;
using op_test::RecordingWriter;
using Strings = std::vector<std::string>;

namespace {

json meta(const std::string& name, const std::string& version = "100") {
  return {{"name", name},
          {"namespace", "shop"},
          {"uid", "uid-" + name},
          {"generation", 1},
          {"resourceVersion", version}};
}

struct Fixture {
  std::ostringstream log_text;
  weft::Logger logger{"operator", weft::LogLevel::kInfo, weft::ostream_sink(log_text)};
  weft::Registry registry;
  OperatorMetrics metrics{registry};
  Caches caches;
  RecordingWriter writer;
  Strings enqueued;
  Reconciler reconciler{
      caches,
      writer,
      logger,
      metrics,
      ReconcilerOptions{
          {}, [] { return true; }, [] { return std::string("2026-01-01T00:00:00Z"); }},
      [this](const std::string& key) { enqueued.push_back(key); }};
  int version = 200;

  Fixture() {
    json ns = {
        {"metadata",
         {{"name", "shop"}, {"uid", "ns-uid"}, {"labels", {{"weft.io/inject", "enabled"}}}}}};
    caches.namespaces.upsert({"", "shop"},
                             std::make_shared<const NamespaceModel>(parse_namespace(ns)));
  }

  void reconcile(const std::string& key) { REQUIRE(reconciler.reconcile(key).has_value()); }

  // What the watches would deliver after the recorded applies: each object
  // stored with a new resourceVersion.
  void show_applies_in_cache() {
    for (const auto& call : writer.calls()) {
      if (call.verb != "apply") continue;
      json object = call.body;
      object["metadata"]["resourceVersion"] = std::to_string(++version);
      object["metadata"]["uid"] = "uid-" + call.kind;
      const ObjectKey key{call.ns, call.name};
      if (call.kind == "ConfigMap") {
        caches.config_maps.upsert(key,
                                  std::make_shared<const ConfigMapModel>(parse_config_map(object)));
      } else if (call.kind == "RoleBinding") {
        caches.role_bindings.upsert(key, std::make_shared<const RbacModel>(parse_rbac(object)));
      }
    }
  }

  void add_service(const std::string& name) {
    json object = {{"metadata", meta(name)},
                   {"spec",
                    {{"clusterIPs", {"10.96.0.1"}},
                     {"selector", {{"app", name}}},
                     {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}}};
    caches.services.upsert({"shop", name},
                           std::make_shared<const ServiceModel>(parse_service(object)));
  }
  void add_route(const std::string& name, const std::string& parent) {
    json object = {{"metadata", meta(name)},
                   {"spec", {{"parentRefs", {{{"name", parent}}}}, {"rules", {json::object()}}}}};
    caches.routes.upsert({"shop", name},
                         std::make_shared<const MeshRouteModel>(parse_mesh_route(object)));
  }
};

}  // namespace

TEST_CASE("reconciler: a meshed namespace gets its RoleBinding and ConfigMap", "[reconciler]") {
  Fixture f;
  f.reconcile("shop");
  CHECK(f.writer.summary() == Strings{"apply RoleBinding", "apply ConfigMap"});
  const auto calls = f.writer.calls();
  CHECK(calls[1].name == std::string(weft::kProxyConfigMapName));
  CHECK(calls[1].body["data"].contains(std::string(weft::kProxyConfigKey)));
  // The bundle's ClusterRole, the only one the operator may bind.
  CHECK(calls[0].body["roleRef"] == json{{"apiGroup", "rbac.authorization.k8s.io"},
                                         {"kind", "ClusterRole"},
                                         {"name", "weft-proxy-config-reader"}});
  CHECK(calls[0].body["subjects"][0]["name"] == "system:serviceaccounts:shop");
}

TEST_CASE("reconciler: an unchanged input writes nothing the second time", "[reconciler]") {
  Fixture f;
  f.reconcile("shop");
  f.show_applies_in_cache();
  f.writer.clear();
  f.reconcile("shop");
  CHECK(f.writer.summary().empty());

  SECTION("nor while the cache still shows the object as it was before our write") {
    f.add_service("web");  // a new document
    f.reconcile("shop");
    CHECK(f.writer.summary() == Strings{"apply ConfigMap"});
    f.writer.clear();
    f.reconcile("shop");  // the watch has not delivered our write yet
    CHECK(f.writer.summary().empty());
  }
}

TEST_CASE("reconciler: a deleted RoleBinding is written again", "[reconciler]") {
  Fixture f;
  f.reconcile("shop");
  f.show_applies_in_cache();
  f.writer.clear();
  f.caches.role_bindings.erase({"shop", std::string(kProxyConfigReaderName)});
  f.reconcile("shop");
  CHECK(f.writer.summary() == Strings{"apply RoleBinding"});
}

TEST_CASE("reconciler: a RoleBinding to an older Role is replaced, its roleRef being immutable",
          "[reconciler]") {
  Fixture f;
  json old = desired_role_binding(*f.caches.gather("shop").namespace_object);
  old["roleRef"]["kind"] = "Role";
  old["metadata"]["uid"] = "old-binding";
  old["metadata"]["resourceVersion"] = "7";
  f.caches.role_bindings.upsert({"shop", std::string(kProxyConfigReaderName)},
                                std::make_shared<const RbacModel>(parse_rbac(old)));
  int binding_applies = 0;
  f.writer.answer = [&binding_applies](const op_test::WriteCall& call) -> WriteResult {
    // What the API server answers to a changed roleRef, until the old one is gone.
    if (call.verb == "apply" && call.kind == "RoleBinding" && binding_applies++ == 0) {
      return weft::kube::make_error(weft::kube::ErrorKind::kInvalid, "apply",
                                    "cannot change roleRef", 422);
    }
    return weft::kube::Done{};
  };
  f.reconcile("shop");
  CHECK(f.writer.summary() ==
        Strings{"apply RoleBinding", "remove RoleBinding", "apply RoleBinding", "apply ConfigMap"});
  CHECK(f.writer.calls()[1].body == "old-binding");  // only the binding that was cached
}

TEST_CASE("reconciler: a document too large writes a status condition and no ConfigMap",
          "[reconciler]") {
  Fixture f;
  json endpoints = json::array();
  for (int i = 0; i < 250; ++i) {
    endpoints.push_back(
        {{"addresses", {fmt::format("10.1.0.{}", i)}}, {"conditions", json::object()}});
  }
  for (int s = 0; s < 130; ++s) {  // 32,500 endpoints: over 1 MiB of document
    const std::string name = fmt::format("svc-{:03d}", s);
    f.add_service(name);
    json slice_meta = meta(name + "-slice");
    slice_meta["labels"] = {{"kubernetes.io/service-name", name}};
    json slice = {{"metadata", slice_meta},
                  {"addressType", "IPv4"},
                  {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}},
                  {"endpoints", endpoints}};
    f.caches.endpoint_slices.upsert(
        {"shop", name + "-slice"},
        std::make_shared<const EndpointSliceModel>(parse_endpoint_slice(slice)));
  }
  f.add_route("r", "svc-000");
  f.reconcile("shop");
  CHECK(f.writer.summary() == Strings{"apply RoleBinding", "create_event Event"});
  CHECK(f.writer.calls()[1].body["reason"] == "ConfigTooLarge");
  REQUIRE(f.enqueued == Strings{"status/shop"});

  f.show_applies_in_cache();
  f.writer.clear();
  f.reconcile("status/shop");
  REQUIRE(f.writer.summary().size() >= 1);
  const auto patch = f.writer.calls()[0];
  CHECK(patch.verb == "patch_status");
  CHECK(patch.name == "r");
  bool too_large = false;
  for (const auto& condition : patch.body["status"]["conditions"]) {
    too_large |= condition["type"] == "Programmed" && condition["reason"] == "ConfigTooLarge";
  }
  CHECK(too_large);

  f.writer.clear();
  f.reconcile("shop");  // the Event is raised once, not at every reconcile
  CHECK(f.writer.summary().empty());
}

TEST_CASE("reconciler: a deleted route's status memory is pruned", "[reconciler]") {
  Fixture f;
  f.add_route("r", "missing");  // Accepted=False: a status to write
  f.reconcile("shop");
  f.reconcile("status/shop");
  CHECK(f.writer.summary().back() == "create_event Event");
  const auto remembered = f.reconciler.memory().size("shop");
  CHECK(remembered == 3);  // ConfigMap, RoleBinding, the route's status

  f.caches.routes.erase({"shop", "r"});
  f.reconcile("shop");
  CHECK(f.reconciler.memory().size("shop") == remembered - 1);

  // And everything goes with the namespace.
  f.caches.namespaces.erase({"", "shop"});
  f.reconcile("shop");
  CHECK(f.reconciler.memory().size() == 0);
}

TEST_CASE("reconciler: a failed write is an error of the reconcile", "[reconciler]") {
  Fixture f;
  f.writer.answer = [](const op_test::WriteCall& call) -> WriteResult {
    if (call.kind == "ConfigMap") {
      return weft::kube::make_error(weft::kube::ErrorKind::kConflict, "apply", "conflict", 409);
    }
    return weft::kube::Done{};
  };
  auto result = f.reconciler.reconcile("shop");
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().message.find("conflict") != std::string::npos);
  CHECK(f.metrics.write_conflicts.value() == 1);
  CHECK(f.metrics.config_map_writes.with_labels({"failed"}).value() == 1);
  CHECK(f.metrics.config_map_writes.with_labels({"applied"}).value() == 0);
}

TEST_CASE("reconciler: every ConfigMap write result is exposed from the start, at 0",
          "[reconciler]") {
  Fixture f;
  const std::string text = f.registry.expose();
  for (const char* result : {"applied", "deleted", "skipped_unchanged", "too_large", "failed"}) {
    CHECK_THAT(text, Catch::Contains(fmt::format(
                         "weft_operator_configmap_writes_total{{result=\"{}\"}} 0", result)));
  }
}

TEST_CASE("queue keys: the namespace of a status key, and the log of a failure", "[reconciler]") {
  CHECK(parse_queue_key("shop").ns == "shop");
  CHECK_FALSE(parse_queue_key("shop").status);
  CHECK(parse_queue_key(status_queue_key("shop")).ns == "shop");
  CHECK(parse_queue_key(status_queue_key("shop")).status);

  Fixture f;
  const std::string key = "status/shop";
  const weft::Error error{"boom"};
  report_reconcile(f.logger, f.metrics, ReconcileReport{key, std::chrono::milliseconds(1), &error});
  const json line = json::parse(f.log_text.str());
  CHECK(line["namespace"] == "shop");
  CHECK(line["key"] == "status/shop");
  CHECK(f.metrics.reconcile_errors.with_labels({"Status"}).value() == 1);
}
