// The watcher when the network fails under it: the real apiserver behind a
// loopback relay that the test cuts or freezes.

#include <atomic>
#include <map>
#include <mutex>
#include <optional>

#include "cluster.h"
#include "tcp_proxy.h"
#include "weft/kube/watcher.h"

using namespace weft::kube;
using namespace std::chrono_literals;
using kube_it::config_map;

namespace {

// The state a store would hold, built from the watcher's events.
class Store {
 public:
  void apply(WatcherEvent&& event) {
    std::lock_guard lock(mutex_);
    if (event.type == WatcherEventType::kRestarted) {
      objects_.clear();
      for (auto& object : event.objects) {
        std::string name = object_name(object);  // before the move below
        objects_[name] = std::move(object);
      }
      ++restarts_seen_;
    } else if (event.type == WatcherEventType::kDeleted) {
      objects_.erase(object_name(event.object));
    } else {
      std::string name = object_name(event.object);  // before the move below
      objects_[name] = std::move(event.object);
    }
  }
  std::optional<std::string> value(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return std::nullopt;
    return it->second["data"].value("v", "");
  }
  int restarts_seen() {
    std::lock_guard lock(mutex_);
    return restarts_seen_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, nlohmann::json> objects_;
  int restarts_seen_ = 0;
};

int apiserver_port(const ClientConfig& config) {
  return std::stoi(config.server.substr(config.server.rfind(':') + 1));
}

}  // namespace

TEST_CASE("a cut connection makes the watcher relist, and no change is lost", "[dropped]") {
  auto admin = kube_it::admin_client();
  kube_it::TestNamespace ns(*admin, "kube-dropped");
  const auto& cms = resources::config_maps();
  auto config = kube_it::admin_config();
  kube_it::TcpProxy proxy(apiserver_port(config));
  config.server = "https://127.0.0.1:" + std::to_string(proxy.port());

  Store store;
  std::atomic<int> transport_errors{0};
  WatcherOptions options;
  options.ns = ns.name();
  options.backoff = {50ms, 200ms, 2.0, 0.5};
  options.on_error = [&](const ApiError& why) {
    if (why.kind == ErrorKind::kTransport) transport_errors++;
  };
  Watcher watcher(kube_it::client_for(config), cms, options,
                  [&](WatcherEvent&& e) { store.apply(std::move(e)); });
  watcher.start();
  REQUIRE(watcher.wait_synced(30s));
  REQUIRE(admin->create(cms, config_map(ns.name(), "a", {{"v", "1"}})));
  REQUIRE(kube_it::eventually([&] { return store.value("a") == "1"; }));

  // "a" arrived through the watch stream, so the stream is live: cut it.
  proxy.cut();
  // A change while the stream is down: the relist must bring it.
  REQUIRE(admin->merge_patch(cms, ns.name(), "a", {{"data", {{"v", "2"}}}}));
  CHECK(kube_it::eventually([&] { return watcher.restarts() >= 1 && store.value("a") == "2"; }));
  CHECK(transport_errors >= 1);
  CHECK(kube_it::eventually([&] { return store.restarts_seen() >= 2; }));  // list + relist

  // More cuts at whatever moment they fall (in a list, a watch, a backoff):
  // whatever happens, the final state is right.
  for (int round = 3; round <= 6; ++round) {
    proxy.cut();
    REQUIRE(admin->merge_patch(cms, ns.name(), "a", {{"data", {{"v", std::to_string(round)}}}}));
  }
  CHECK(kube_it::eventually([&] { return store.value("a") == "6"; }));
  CHECK(proxy.connections_accepted() >= 3);

  // And it watches again after the last relist.
  REQUIRE(admin->create(cms, config_map(ns.name(), "b", {{"v", "new"}})));
  CHECK(kube_it::eventually([&] { return store.value("b") == "new"; }));
  watcher.stop();
}

TEST_CASE("a silent stream hits the idle timeout and the watcher relists", "[dropped]") {
  auto admin = kube_it::admin_client();
  kube_it::TestNamespace ns(*admin, "kube-silent");
  const auto& cms = resources::config_maps();
  auto config = kube_it::admin_config();
  kube_it::TcpProxy proxy(apiserver_port(config));
  config.server = "https://127.0.0.1:" + std::to_string(proxy.port());

  Store store;
  std::atomic<int> idle_timeouts{0};
  WatcherOptions options;
  options.ns = ns.name();
  options.watch_timeout = 120s;
  options.idle_timeout = 2s;
  options.backoff = {50ms, 200ms, 2.0, 0.5};
  options.on_error = [&](const ApiError& why) {
    if (why.kind == ErrorKind::kTimeout) idle_timeouts++;
  };
  Watcher watcher(kube_it::client_for(config), cms, options,
                  [&](WatcherEvent&& e) { store.apply(std::move(e)); });
  watcher.start();
  REQUIRE(watcher.wait_synced(30s));

  proxy.freeze(true);  // the peer goes silent without closing anything
  REQUIRE(admin->create(cms, config_map(ns.name(), "during", {{"v", "x"}})));
  CHECK(kube_it::eventually([&] { return idle_timeouts >= 1; }));
  proxy.freeze(false);
  CHECK(kube_it::eventually([&] { return store.value("during") == "x"; }));
  CHECK(watcher.restarts() >= 1);
  watcher.stop();
}

TEST_CASE("a request to a silent server times out with kTimeout", "[dropped]") {
  auto config = kube_it::admin_config();
  kube_it::TcpProxy proxy(apiserver_port(config));
  config.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  config.request_timeout = 1s;
  auto client = kube_it::client_for(config);
  REQUIRE(client->get(resources::namespaces(), "", "default"));
  proxy.freeze(true);
  auto start = std::chrono::steady_clock::now();
  auto silent = client->get(resources::namespaces(), "", "default");
  CHECK(silent.is_error(ErrorKind::kTimeout));
  CHECK(std::chrono::steady_clock::now() - start < 20s);  // not the default 30 s
  proxy.freeze(false);
}
