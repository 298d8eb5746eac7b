// The client against the real kube-apiserver: CRUD, pagination, server-side
// apply, merge patch, status subresource, conflicts, transport errors.

#include "weft/kube/client.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "cluster.h"
#include "weft/kube/retry.h"

using namespace weft::kube;
using kube_it::config_map;

TEST_CASE("ConfigMap create, get, update, merge patch, delete", "[crud]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-crud");
  const auto& cms = resources::config_maps();

  auto created = client->create(cms, config_map(ns.name(), "one", {{"a", "1"}}));
  INFO((created ? "" : created.error().message));
  REQUIRE(created);
  CHECK((*created)["kind"] == "ConfigMap");  // filled in by the client
  CHECK(!object_resource_version(*created).empty());

  auto again = client->create(cms, config_map(ns.name(), "one"));
  CHECK(again.is_error(ErrorKind::kAlreadyExists));
  CHECK(again.error().http_status == 409);
  CHECK_THAT(again.error().message,
             Catch::Contains("POST /api/v1/namespaces/" + ns.name() + "/configmaps"));

  auto got = client->get(cms, ns.name(), "one");
  REQUIRE(got);
  CHECK((*got)["data"]["a"] == "1");
  // The real kubectl sees what the client wrote.
  CHECK(kube_it::kubectl("-n " + ns.name() + " get configmap one -o jsonpath={.data.a}") == "1");

  nlohmann::json changed = *got;
  changed["data"]["a"] = "2";
  auto updated = client->update(cms, changed);
  REQUIRE(updated);
  CHECK((*updated)["data"]["a"] == "2");

  auto patched =
      client->merge_patch(cms, ns.name(), "one", {{"data", {{"b", "3"}, {"a", nullptr}}}});
  REQUIRE(patched);
  CHECK((*patched)["data"] == nlohmann::json{{"b", "3"}});

  auto invalid = client->create(cms, config_map(ns.name(), "Not_A_Name"));
  CHECK(invalid.is_error(ErrorKind::kInvalid));
  CHECK(invalid.error().http_status == 422);

  auto deleted = client->remove(cms, ns.name(), "one");
  REQUIRE(deleted);
  auto gone = client->get(cms, ns.name(), "one");
  CHECK(gone.is_error(ErrorKind::kNotFound));
  CHECK(gone.error().reason == "NotFound");
  CHECK(client->remove(cms, ns.name(), "one").is_error(ErrorKind::kNotFound));
}

TEST_CASE("delete preconditions and dry run", "[crud]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-delete");
  const auto& cms = resources::config_maps();
  auto created = client->create(cms, config_map(ns.name(), "guarded"));
  REQUIRE(created);

  DeleteOptions stale;
  stale.precondition_uid = "00000000-0000-0000-0000-000000000000";
  CHECK(client->remove(cms, ns.name(), "guarded", stale).is_error(ErrorKind::kConflict));

  DeleteOptions dry;
  dry.dry_run = true;
  REQUIRE(client->remove(cms, ns.name(), "guarded", dry));
  REQUIRE(client->get(cms, ns.name(), "guarded"));  // still there

  DeleteOptions exact;
  exact.precondition_uid = (*created)["metadata"]["uid"];
  exact.propagation_policy = "Foreground";
  REQUIRE(client->remove(cms, ns.name(), "guarded", exact));
  CHECK(kube_it::eventually(
      [&] { return client->get(cms, ns.name(), "guarded").is_error(ErrorKind::kNotFound); }));
}

// How many of a list's items are the test's own ConfigMaps (cm-N): the
// controller-manager adds kube-root-ca.crt to a new namespace at a moment of its
// own, between two lists or not.
std::size_t ours(const ObjectList& list) {
  return static_cast<std::size_t>(
      std::count_if(list.items.begin(), list.items.end(),
                    [](const auto& item) { return object_name(item).starts_with("cm-"); }));
}

TEST_CASE("list follows continue tokens over more objects than the page size", "[pagination]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-pages");
  const auto& cms = resources::config_maps();
  for (int i = 0; i < 23; ++i) {
    auto cm = config_map(ns.name(), "cm-" + std::to_string(i));
    cm["metadata"]["labels"] = {{"parity", i % 2 == 0 ? "even" : "odd"}};
    REQUIRE(client->create(cms, cm));
  }
  ListOptions options;
  options.page_size = 5;
  auto list = client->list(cms, ns.name(), options);
  REQUIRE(list);
  CHECK(ours(*list) == 23);
  CHECK(list->pages == static_cast<int>((list->items.size() + 4) / 5));
  CHECK(list->pages >= 5);
  CHECK(!list->resource_version.empty());
  std::set<std::string> names;
  for (const auto& item : list->items) names.insert(object_name(item));
  CHECK(names.size() == list->items.size());  // no duplicates across pages

  options.label_selector = "parity=even";
  auto even = client->list(cms, ns.name(), options);
  REQUIRE(even);
  CHECK(even->items.size() == 12);
  CHECK(even->pages == 3);

  ListOptions whole;
  whole.page_size = 0;
  auto one_page = client->list(cms, ns.name(), whole);
  REQUIRE(one_page);
  CHECK(one_page->pages == 1);
  CHECK(ours(*one_page) == 23);

  // Across all namespaces, with a field selector.
  ListOptions by_ns;
  // (kube-apiserver 1.34 repeats the first page for this selector; list() de-duplicates.)
  by_ns.field_selector = "metadata.namespace=" + ns.name();
  by_ns.page_size = 10;
  auto all = client->list(cms, "", by_ns);
  REQUIRE(all);
  CHECK(ours(*all) == 23);
}

TEST_CASE("server-side apply is idempotent and tracks its field manager", "[apply]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-apply");
  const auto& cms = resources::config_maps();
  auto desired = config_map(ns.name(), "applied", {{"owned", "by-operator"}});
  ApplyOptions mine{"weft-operator", true, false};

  auto first = client->apply(cms, desired, mine);
  INFO((first ? "" : first.error().message));
  REQUIRE(first);
  auto second = client->apply(cms, desired, mine);
  REQUIRE(second);
  CHECK(object_resource_version(*first) == object_resource_version(*second));
  bool managed = false;
  for (const auto& entry : (*second)["metadata"]["managedFields"]) {
    if (entry["manager"] == "weft-operator" && entry["operation"] == "Apply") managed = true;
  }
  CHECK(managed);

  // Another manager changing our field conflicts unless it forces.
  auto theirs = config_map(ns.name(), "applied", {{"owned", "by-someone-else"}});
  auto conflict = client->apply(cms, theirs, {"other-manager", false, false});
  CHECK(conflict.is_error(ErrorKind::kConflict));
  CHECK_THAT(conflict.error().message, Catch::Contains("conflict"));
  auto forced = client->apply(cms, theirs, {"other-manager", true, false});
  REQUIRE(forced);
  CHECK((*forced)["data"]["owned"] == "by-someone-else");

  // Dry run changes nothing; a missing field manager is refused before sending.
  auto dry = client->apply(cms, desired, {"weft-operator", true, true});
  REQUIRE(dry);
  CHECK((*client->get(cms, ns.name(), "applied"))["data"]["owned"] == "by-someone-else");
  CHECK(client->apply(cms, desired, {}).is_error(ErrorKind::kBadRequest));
}

TEST_CASE("status subresource of a MeshRoute: update, patch and apply", "[status]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-status");
  const auto& routes = resources::mesh_routes();
  nlohmann::json route = {
      {"metadata", {{"name", "r1"}, {"namespace", ns.name()}}},
      {"spec",
       {{"parentRefs", {{{"name", "checkout"}, {"port", 8080}}}},
        {"rules", {{{"backendRefs", {{{"name", "checkout-v1"}, {"port", 8080}}}}}}}}}};
  auto created = client->create(routes, route);
  INFO((created ? "" : created.error().message));
  REQUIRE(created);

  nlohmann::json condition = {{"type", "Accepted"},
                              {"status", "True"},
                              {"reason", "Accepted"},
                              {"message", "ok"},
                              {"lastTransitionTime", "2026-01-01T00:00:00Z"}};
  nlohmann::json with_status = *created;
  with_status["status"] = {{"observedGeneration", 1}, {"conditions", {condition}}};
  with_status["spec"]["parentRefs"][0]["port"] = 9090;  // ignored by the status endpoint
  auto updated = client->update_status(routes, with_status);
  INFO((updated ? "" : updated.error().message));
  REQUIRE(updated);
  CHECK((*updated)["status"]["conditions"][0]["type"] == "Accepted");
  CHECK((*updated)["spec"]["parentRefs"][0]["port"] == 8080);

  // Stale resourceVersion on the status endpoint: 409 like any update.
  CHECK(client->update_status(routes, with_status).is_error(ErrorKind::kConflict));

  auto patched = client->patch_status(routes, ns.name(), "r1", PatchType::kMerge,
                                      {{"status", {{"observedGeneration", 2}}}});
  REQUIRE(patched);
  CHECK((*patched)["status"]["observedGeneration"] == 2);

  nlohmann::json status_apply = {{"metadata", {{"name", "r1"}, {"namespace", ns.name()}}},
                                 {"status",
                                  {{"observedGeneration", 3},
                                   {"conditions",
                                    {condition,
                                     {{"type", "ResolvedRefs"},
                                      {"status", "False"},
                                      {"reason", "BackendNotFound"},
                                      {"message", "no Service checkout-v1"},
                                      {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}}}};
  auto applied = client->apply_status(routes, status_apply, {"weft-operator", true, false});
  INFO((applied ? "" : applied.error().message));
  REQUIRE(applied);
  CHECK((*applied)["status"]["conditions"].size() == 2);
  CHECK(kube_it::kubectl("-n " + ns.name() +
                         " get meshroute r1 -o jsonpath={.status.conditions[1].reason}") ==
        "BackendNotFound");
}

TEST_CASE("a stale update gets 409 and retry_on_conflict succeeds", "[conflict]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-conflict");
  const auto& cms = resources::config_maps();
  REQUIRE(client->create(cms, config_map(ns.name(), "counter", {{"n", "0"}})));

  auto stale = client->get(cms, ns.name(), "counter");
  REQUIRE(stale);
  // Someone else writes in between (the real kubectl).
  kube_it::kubectl("-n " + ns.name() + " patch configmap counter --type merge -p " +
                   R"('{"data":{"n":"10"}}')");
  nlohmann::json lost = *stale;
  lost["data"]["n"] = "1";
  auto conflict = client->update(cms, lost);
  REQUIRE(conflict.is_error(ErrorKind::kConflict));
  CHECK(conflict.error().http_status == 409);
  CHECK(conflict.error().reason == "Conflict");

  // Read-modify-write: the first attempt uses the stale copy, later ones re-read.
  int attempts = 0;
  auto result = retry_on_conflict([&]() -> Result<nlohmann::json> {
    nlohmann::json current = *stale;
    if (attempts++ > 0) {
      auto fresh = client->get(cms, ns.name(), "counter");
      if (!fresh) return fresh;
      current = *fresh;
    }
    current["data"]["n"] = std::to_string(std::stoi(current["data"]["n"].get<std::string>()) + 1);
    return client->update(cms, current);
  });
  REQUIRE(result);
  CHECK(attempts == 2);
  CHECK((*result)["data"]["n"] == "11");
}

TEST_CASE("concurrent writers from many threads share one client", "[conflict]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-threads");
  const auto& cms = resources::config_maps();
  REQUIRE(client->create(cms, config_map(ns.name(), "shared", {{"n", "0"}})));
  constexpr int kThreads = 4;
  constexpr int kIncrements = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto result = retry_on_conflict(
            [&]() -> Result<nlohmann::json> {
              auto current = client->get(cms, ns.name(), "shared");
              if (!current) return current;
              int n = std::stoi((*current)["data"]["n"].get<std::string>());
              (*current)["data"]["n"] = std::to_string(n + 1);
              return client->update(cms, *current);
            },
            50);
        if (!result) failures++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  CHECK((*client->get(cms, ns.name(), "shared"))["data"]["n"] ==
        std::to_string(kThreads * kIncrements));
}

TEST_CASE("transport and TLS failures are typed errors", "[transport]") {
  auto config = kube_it::admin_config();

  // A loopback port with nothing listening (bound, then closed).
  ClientConfig refused = config;
  refused.server = "https://127.0.0.1:1";
  auto no_server = kube_it::client_for(refused)->get(resources::namespaces(), "", "default");
  REQUIRE_FALSE(no_server);
  CHECK(no_server.error().kind == ErrorKind::kTransport);
  CHECK_THAT(no_server.error().message, Catch::Contains("GET /api/v1/namespaces/default"));

  // The system trust store does not know the local cluster CA.
  ClientConfig untrusted = config;
  untrusted.ca_pem.clear();
  auto tls = kube_it::client_for(untrusted)->get(resources::namespaces(), "", "default");
  REQUIRE_FALSE(tls);
  CHECK(tls.error().kind == ErrorKind::kTransport);

  // tls-server-name: connect to 127.0.0.1, check the certificate for another
  // of its names; a name it does not have fails.
  ClientConfig by_name = config;
  by_name.tls_server_name = "kubernetes.default.svc";
  auto named = kube_it::client_for(by_name)->get(resources::namespaces(), "", "default");
  INFO((named ? "" : named.error().message));
  CHECK(named);
  by_name.tls_server_name = "not-in-the-certificate.example";
  auto mismatch = kube_it::client_for(by_name)->get(resources::namespaces(), "", "default");
  CHECK(mismatch.is_error(ErrorKind::kTransport));

  // A proxy from the environment is not used for loopback (as in Go clients).
  setenv("https_proxy", "http://127.0.0.1:1", 1);
  auto direct = kube_it::client_for(config)->get(resources::namespaces(), "", "default");
  unsetenv("https_proxy");
  INFO((direct ? "" : direct.error().message));
  CHECK(direct);

  ClientConfig bad = config;
  bad.server = "ftp://127.0.0.1";
  CHECK_FALSE(Client::from_config(bad));
}

TEST_CASE("connections are reused across requests and threads", "[reuse]") {
  auto client = kube_it::admin_client();
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    REQUIRE(client->get(resources::namespaces(), "", "default"));
  }
  CHECK(client->requests_sent() == kRequests);
  CHECK(client->connections_opened() == 1);  // one keep-alive connection for all

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) CHECK(client->get(resources::namespaces(), "", "default"));
    });
  }
  for (auto& thread : threads) thread.join();
  // At most one more connection per concurrent thread (each uses its own handle).
  CHECK(client->connections_opened() <= 5);
}

TEST_CASE("the client-side rate limit spaces requests", "[reuse]") {
  auto config = kube_it::admin_config();
  config.qps = 20;
  config.burst = 1;
  auto client = kube_it::client_for(config);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 11; ++i) REQUIRE(client->get(resources::namespaces(), "", "default"));
  // 10 waits of 50 ms at least; an upper bound would only measure the machine.
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed >= std::chrono::milliseconds(450));
  // The waits are counted: each is 50 ms less the request before it, so their
  // sum depends on how fast the API server answered (a loaded machine answers
  // slowly and waits less); it is some of the elapsed time, never more.
  CHECK(client->throttled_time() > std::chrono::milliseconds(0));
  CHECK(client->throttled_time() <= elapsed);
}
