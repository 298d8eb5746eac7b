// Watches against the real kube-apiserver: the raw stream (Client::watch) and
// the list/watch loop (Watcher): events, resume after the server ends the
// stream, relist on 410 Gone, prompt stop.

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "cluster.h"
#include "weft/kube/watcher.h"

using namespace weft::kube;
using namespace std::chrono_literals;
using kube_it::config_map;

namespace {

// Everything a Watcher delivered, and a cache built from it the way a store would.
struct Recorder {
  std::mutex mutex;
  std::vector<WatcherEvent> events;
  std::map<std::string, nlohmann::json> cache;  // name -> object

  void operator()(WatcherEvent&& event) {
    std::lock_guard lock(mutex);
    switch (event.type) {
      case WatcherEventType::kRestarted:
        cache.clear();
        for (const auto& object : event.objects) cache[object_name(object)] = object;
        break;
      case WatcherEventType::kAdded:
      case WatcherEventType::kModified:
        cache[object_name(event.object)] = event.object;
        break;
      case WatcherEventType::kDeleted:
        cache.erase(object_name(event.object));
        break;
    }
    events.push_back(std::move(event));
  }
  int count(WatcherEventType type) {
    std::lock_guard lock(mutex);
    return static_cast<int>(
        std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.type == type; }));
  }
  std::optional<std::string> value(const std::string& name, const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = cache.find(name);
    if (it == cache.end() || !it->second["data"].contains(key)) return std::nullopt;
    return it->second["data"][key].get<std::string>();
  }
  bool has(const std::string& name) {
    std::lock_guard lock(mutex);
    return cache.count(name) > 0;
  }
};

}  // namespace

TEST_CASE("a raw watch sees add, modify and delete in order", "[watch]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-watch");
  const auto& cms = resources::config_maps();
  auto list = client->list(cms, ns.name());
  REQUIRE(list);

  std::vector<std::pair<WatchEventType, std::string>> seen;
  std::mutex mutex;
  WatchOptions options;
  options.resource_version = list->resource_version;
  options.label_selector = "test=watch";
  options.timeout = 60s;
  std::jthread watcher([&](std::stop_token stop) {
    auto end = client->watch(
        cms, ns.name(), options,
        [&](WatchEvent&& event) {
          std::lock_guard lock(mutex);
          seen.emplace_back(event.type, object_name(event.object));
          return !(event.type == WatchEventType::kDeleted);
        },
        stop);
    INFO((end ? "" : end.error().message));
    CHECK(end);
    if (end) CHECK(*end == WatchEnd::kHandlerStopped);
  });

  auto cm = config_map(ns.name(), "w", {{"v", "1"}});
  cm["metadata"]["labels"] = {{"test", "watch"}};
  REQUIRE(client->create(cms, cm));
  REQUIRE(client->merge_patch(cms, ns.name(), "w", {{"data", {{"v", "2"}}}}));
  REQUIRE(client->remove(cms, ns.name(), "w"));
  watcher.join();
  std::vector<std::pair<WatchEventType, std::string>> expected = {{WatchEventType::kAdded, "w"},
                                                                  {WatchEventType::kModified, "w"},
                                                                  {WatchEventType::kDeleted, "w"}};
  CHECK(seen == expected);
}

TEST_CASE("stopping a watch interrupts the stream at once", "[watch]") {
  auto client = kube_it::admin_client();
  WatchOptions options;
  options.timeout = 250s;  // the stream alone would last minutes
  std::stop_source stop;
  std::atomic<bool> returned{false};
  Result<WatchEnd> end = WatchEnd::kServerClosed;
  std::thread watcher([&] {
    end = client->watch(
        resources::config_maps(), "kube-system", options, [](WatchEvent&&) { return true; },
        stop.get_token());
    returned = true;
  });
  std::this_thread::sleep_for(500ms);  // let the stream start
  auto start = std::chrono::steady_clock::now();
  stop.request_stop();
  watcher.join();
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(returned);
  REQUIRE(end);
  CHECK(*end == WatchEnd::kStopped);
  CHECK(took < 5s);  // generous; it is milliseconds, not the 250 s timeout
}

namespace {

// Compacts the cluster's etcd up to its current revision, through etcd's own
// HTTP gateway (the port is in $WEFT_CLUSTER_DIR/run/ports), as the apiserver
// does every 5 minutes. Returns the revision compacted to: it is kept, only
// older ones are gone.
long long compact_etcd() {
  std::ifstream ports(kube_it::env_or_fail("WEFT_CLUSTER_DIR") + "/run/ports");
  std::string line;
  std::string port;
  while (std::getline(ports, line)) {
    if (line.rfind("etcd=", 0) == 0) port = line.substr(5);
  }
  REQUIRE(!port.empty());
  ClientConfig etcd;
  etcd.server = "http://127.0.0.1:" + port;
  auto client = kube_it::client_for(etcd);
  auto range = client->request({"POST", "/v3/kv/range", R"({"key":"AA=="})", "application/json"});
  REQUIRE(range);
  long long revision = std::stoll((*range)["header"]["revision"].get<std::string>());
  auto compacted = client->request(
      {"POST", "/v3/kv/compaction",
       nlohmann::json{{"revision", revision}, {"physical", true}}.dump(), "application/json"});
  INFO((compacted ? "" : compacted.error().message));
  REQUIRE(compacted);
  return revision;
}

// Core Events: the apiserver keeps no watch cache for them, so a watch from a
// compacted revision reaches etcd and fails with 410, on a fresh cluster too
// (other resources are served from the watch cache, whose window is not
// compaction-bound).
nlohmann::json event_for(const std::string& ns, const std::string& name) {
  return {{"metadata", {{"name", name}, {"namespace", ns}}},
          {"involvedObject", {{"kind", "ConfigMap"}, {"name", "x"}, {"namespace", ns}}},
          {"reason", "Test"},
          {"message", "made by the kube client test"},
          {"type", "Normal"}};
}

}  // namespace

TEST_CASE("a raw watch from a compacted resourceVersion gets 410 Gone", "[gone]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-gone-raw");
  auto before = client->create(resources::events(), event_for(ns.name(), "e1"));
  REQUIRE(before);
  // Compaction keeps the current revision, so the watch must start two writes back.
  REQUIRE(client->create(resources::events(), event_for(ns.name(), "e2")));
  REQUIRE(client->create(resources::events(), event_for(ns.name(), "e3")));
  compact_etcd();

  std::optional<ApiError> error;
  WatchOptions options;
  options.resource_version = object_resource_version(*before);
  options.timeout = 30s;
  auto end = client->watch(resources::events(), ns.name(), options, [&](WatchEvent&& event) {
    if (event.type == WatchEventType::kError) {
      error = error_from_status("WATCH events", event.object);
      return false;
    }
    return true;
  });
  // The apiserver answers either with an HTTP 410 or with an ERROR event.
  if (end) {
    REQUIRE(error);
    CHECK(error->kind == ErrorKind::kGone);
    CHECK(error->http_status == 410);
  } else {
    CHECK(end.error().kind == ErrorKind::kGone);
  }
}

TEST_CASE("the watcher lists, then follows changes made by kubectl and the client", "[watcher]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-watcher");
  const auto& cms = resources::config_maps();
  for (int i = 0; i < 7; ++i) {
    REQUIRE(client->create(cms, config_map(ns.name(), "pre-" + std::to_string(i))));
  }
  Recorder recorder;
  WatcherOptions options;
  options.ns = ns.name();
  options.page_size = 3;  // the initial list needs several pages
  Watcher watcher(client, cms, options, std::ref(recorder));
  watcher.start();
  REQUIRE(watcher.wait_synced(30s));
  CHECK(recorder.count(WatcherEventType::kRestarted) == 1);
  for (int i = 0; i < 7; ++i) CHECK(recorder.has("pre-" + std::to_string(i)));

  kube_it::kubectl("-n " + ns.name() + " create configmap by-kubectl --from-literal=k=1");
  REQUIRE(client->merge_patch(cms, ns.name(), "pre-0", {{"data", {{"k", "changed"}}}}));
  REQUIRE(client->remove(cms, ns.name(), "pre-1"));
  CHECK(kube_it::eventually([&] {
    return recorder.value("by-kubectl", "k") == "1" && recorder.value("pre-0", "k") == "changed" &&
           !recorder.has("pre-1");
  }));
  CHECK(recorder.count(WatcherEventType::kAdded) >= 1);
  CHECK(recorder.count(WatcherEventType::kModified) >= 1);
  CHECK(recorder.count(WatcherEventType::kDeleted) == 1);
  CHECK(watcher.restarts() == 0);
  CHECK(!watcher.resource_version().empty());
  watcher.stop();
}

TEST_CASE("a watcher can follow one named ConfigMap (field selector)", "[watcher]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-one");
  const auto& cms = resources::config_maps();
  Recorder recorder;
  WatcherOptions options;
  options.ns = ns.name();
  options.field_selector = "metadata.name=weft-proxy-config";
  Watcher watcher(client, cms, options, std::ref(recorder));
  watcher.start();
  REQUIRE(watcher.wait_synced(30s));
  REQUIRE(client->create(cms, config_map(ns.name(), "other", {{"k", "x"}})));
  REQUIRE(client->create(cms, config_map(ns.name(), "weft-proxy-config", {{"k", "v1"}})));
  REQUIRE(client->merge_patch(cms, ns.name(), "weft-proxy-config", {{"data", {{"k", "v2"}}}}));
  CHECK(kube_it::eventually([&] { return recorder.value("weft-proxy-config", "k") == "v2"; }));
  CHECK_FALSE(recorder.has("other"));
  std::lock_guard lock(recorder.mutex);
  for (const auto& event : recorder.events) {
    if (event.type != WatcherEventType::kRestarted) {
      CHECK(object_name(event.object) == "weft-proxy-config");
    }
  }
}

TEST_CASE("the watcher resumes after the server ends each stream, losing nothing", "[resume]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-resume");
  const auto& cms = resources::config_maps();
  Recorder recorder;
  WatcherOptions options;
  options.ns = ns.name();
  options.watch_timeout = 1s;  // the apiserver cuts every stream after a second
  Watcher watcher(client, cms, options, std::ref(recorder));
  watcher.start();
  REQUIRE(watcher.wait_synced(30s));

  // Changes spread over several stream lifetimes, including across the cuts.
  constexpr int kChanges = 12;
  REQUIRE(client->create(cms, config_map(ns.name(), "counter", {{"n", "0"}})));
  for (int i = 1; i <= kChanges; ++i) {
    REQUIRE(client->merge_patch(cms, ns.name(), "counter", {{"data", {{"n", std::to_string(i)}}}}));
    std::this_thread::sleep_for(300ms);
  }
  CHECK(kube_it::eventually(
      [&] { return recorder.value("counter", "n") == std::to_string(kChanges); }));
  // Every single modification arrived exactly once, in order.
  std::vector<std::string> values;
  {
    std::lock_guard lock(recorder.mutex);
    for (const auto& event : recorder.events) {
      if (event.type == WatcherEventType::kModified) values.push_back(event.object["data"]["n"]);
    }
  }
  std::vector<std::string> expected;
  for (int i = 1; i <= kChanges; ++i) expected.push_back(std::to_string(i));
  CHECK(values == expected);
  CHECK(watcher.watches() >= 3);   // the stream was really cut and resumed
  CHECK(watcher.restarts() == 0);  // ...without a relist
  CHECK(recorder.count(WatcherEventType::kRestarted) == 1);
  watcher.stop();
}

TEST_CASE("the watcher relists on 410 Gone and delivers the full state", "[gone]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-gone");
  const auto& events = resources::events();
  auto saved = client->create(events, event_for(ns.name(), "seen-before"));
  REQUIRE(saved);
  // The consumer saved its state at this version; meanwhile an object came and
  // another went, and etcd compacted the history.
  REQUIRE(client->create(events, event_for(ns.name(), "present")));
  REQUIRE(client->remove(events, ns.name(), "seen-before"));
  compact_etcd();

  Recorder recorder;
  recorder.cache["seen-before"] = nlohmann::json::object();
  std::atomic<int> gone_errors{0};
  WatcherOptions options;
  options.ns = ns.name();
  options.resume_from = object_resource_version(*saved);
  options.on_error = [&](const ApiError& why) {
    if (why.kind == ErrorKind::kGone) gone_errors++;
  };
  Watcher watcher(client, events, options, std::ref(recorder));
  watcher.start();
  CHECK(kube_it::eventually([&] { return recorder.count(WatcherEventType::kRestarted) == 1; }));
  CHECK(gone_errors == 1);
  CHECK(watcher.restarts() == 1);
  CHECK(recorder.has("present"));
  CHECK_FALSE(recorder.has("seen-before"));  // the full list replaced the old state
  // And it keeps watching from the new list's version.
  REQUIRE(client->create(events, event_for(ns.name(), "after")));
  CHECK(kube_it::eventually([&] { return recorder.has("after"); }));
  CHECK(watcher.restarts() == 1);
  watcher.stop();
}

TEST_CASE("a watcher stops promptly while streaming and while backing off", "[watcher]") {
  auto client = kube_it::admin_client();
  Recorder recorder;
  WatcherOptions options;
  options.ns = "kube-system";
  options.watch_timeout = 250s;
  auto streaming =
      std::make_unique<Watcher>(client, resources::config_maps(), options, std::ref(recorder));
  streaming->start();
  REQUIRE(streaming->wait_synced(30s));
  std::this_thread::sleep_for(300ms);
  auto start = std::chrono::steady_clock::now();
  streaming->stop();
  CHECK(std::chrono::steady_clock::now() - start < 5s);

  // A watcher that cannot reach the server backs off; stop must not wait it out.
  ClientConfig nowhere = kube_it::admin_config();
  nowhere.server = "https://127.0.0.1:1";
  WatcherOptions slow;
  slow.backoff = {60s, 60s, 1.0, 0.0};
  std::atomic<int> errors{0};
  slow.on_error = [&](const ApiError&) { errors++; };
  Watcher failing(kube_it::client_for(nowhere), resources::config_maps(), slow,
                  [](WatcherEvent&&) {});
  failing.start();
  CHECK(kube_it::eventually([&] { return errors.load() >= 1; }));
  CHECK_FALSE(failing.synced());
  start = std::chrono::steady_clock::now();
  failing.stop();
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("the consumer can stop its own watcher", "[watcher]") {
  auto client = kube_it::admin_client();
  kube_it::TestNamespace ns(*client, "kube-selfstop");
  const auto& cms = resources::config_maps();
  std::atomic<int> delivered{0};
  std::unique_ptr<Watcher> watcher;
  WatcherOptions options;
  options.ns = ns.name();
  watcher = std::make_unique<Watcher>(client, cms, options, [&](WatcherEvent&& event) {
    if (event.type == WatcherEventType::kRestarted) return;
    delivered++;
    watcher->stop();  // from the watcher's own thread: no deadlock, no more events
  });
  watcher->start();
  REQUIRE(watcher->wait_synced(30s));
  for (int i = 0; i < 5; ++i)
    REQUIRE(client->create(cms, config_map(ns.name(), "c" + std::to_string(i))));
  CHECK(kube_it::eventually([&] { return delivered.load() >= 1; }));
  std::this_thread::sleep_for(500ms);  // room for wrongly delivered events to show up
  CHECK(delivered == 1);
  watcher.reset();  // joins
}
