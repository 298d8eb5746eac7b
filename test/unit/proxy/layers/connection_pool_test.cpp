// The connection layer's pool with a fake probe and a controlled clock: every
// reuse is probed however recent, idle connections expire, the per-endpoint
// cap holds, endpoints that leave the document lose their connections, and
// each closing is counted by reason. Then the real probe on loopback sockets.

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <sstream>
#include <thread>

#include "proxy/layers/connection.h"
#include "proxy/layers/retries.h"
#include "test/unit/proxy/test_documents.h"

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

tcp::endpoint at(const char* address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

const Clock::time_point kStart{1000s};

// A pool whose probe answers what the test says of each connection.
struct Fixture {
  asio::io_context io;
  weft::Registry registry;
  weft::Family<weft::Counter>& closed = registry.counter("closed", "", {"reason"});
  std::map<const UpstreamConnection*, IdleState> states;
  std::size_t probes = 0;
  UpstreamPool pool;

  explicit Fixture(PoolLimits limits = {.max_idle_per_endpoint = 2, .idle_timeout = 10s})
      : pool(limits, counters(), [this](UpstreamConnection& connection) {
          ++probes;
          const auto found = states.find(&connection);
          return found == states.end() ? IdleState::kOpen : found->second;
        }) {}

  UpstreamPool::Counters counters() {
    UpstreamPool::Counters all{};
    for (std::size_t i = 0; i < all.size(); ++i) {
      all[i] = &closed.with_labels({std::string(to_string(static_cast<PoolClose>(i)))});
    }
    return all;
  }
  std::uint64_t closed_by(PoolClose reason) {
    return closed.with_labels({std::string(to_string(reason))}).value();
  }
  // Puts a new connection to `endpoint` at `now`; returns it (still owned by the pool).
  const UpstreamConnection* put(const tcp::endpoint& endpoint, Clock::time_point now) {
    auto connection = std::make_unique<UpstreamConnection>(io.get_executor());
    connection->endpoint = endpoint;
    const UpstreamConnection* raw = connection.get();
    pool.put(std::move(connection), now);
    return raw;
  }
};

std::shared_ptr<const Snapshot> build(const weft::proxyconfig::Document& document) {
  const std::string text = testing::text_of(document);
  auto parsed = weft::proxyconfig::parse(text);
  REQUIRE(parsed.has_value());
  auto snapshot = Snapshot::build(std::move(parsed.value()), text);
  REQUIRE(snapshot.has_value());
  return snapshot.value();
}

}  // namespace

TEST_CASE("pool: every reuse is probed, however recently the connection was used", "[pool]") {
  Fixture f;
  const auto web = at("10.0.0.1", 8080);
  f.put(web, kStart);
  // Taken the same instant it was put: probed all the same.
  auto taken = f.pool.take(web, kStart);
  REQUIRE(taken);
  CHECK(taken->reused);
  CHECK(f.probes == 1);
}

TEST_CASE("pool: a connection closed by the server or holding stray bytes is not reused",
          "[pool]") {
  Fixture f({.max_idle_per_endpoint = 8, .idle_timeout = 10s});
  const auto web = at("10.0.0.1", 8080);
  const auto* good = f.put(web, kStart);
  const auto* stray = f.put(web, kStart + 1ms);
  const auto* closed = f.put(web, kStart + 2ms);
  f.states[stray] = IdleState::kStrayBytes;
  f.states[closed] = IdleState::kClosed;
  // The most recent first; the two bad ones are closed on the way.
  auto taken = f.pool.take(web, kStart + 3ms);
  CHECK(taken.get() == good);
  CHECK(f.closed_by(PoolClose::kClosedByServer) == 1);
  CHECK(f.closed_by(PoolClose::kStrayBytes) == 1);
  CHECK(f.pool.idle_count() == 0);
  CHECK_FALSE(f.pool.take(web, kStart + 3ms));
}

TEST_CASE("pool: a connection with unread bytes after its response is not kept", "[pool]") {
  Fixture f;
  auto connection = std::make_unique<UpstreamConnection>(f.io.get_executor());
  connection->endpoint = at("10.0.0.1", 8080);
  const std::string_view extra = "HTTP/1.1 200 OK\r\n";
  auto space = connection->buffer.prepare();
  std::memcpy(space.data(), extra.data(), extra.size());
  connection->buffer.commit(extra.size());
  f.pool.put(std::move(connection), kStart);
  CHECK(f.pool.idle_count() == 0);
  CHECK(f.closed_by(PoolClose::kStrayBytes) == 1);
}

TEST_CASE("pool: idle connections expire, when taken and when swept", "[pool]") {
  Fixture f({.max_idle_per_endpoint = 8, .idle_timeout = 10s});
  const auto web = at("10.0.0.1", 8080);
  const auto api = at("10.0.0.2", 8080);
  f.put(web, kStart);
  f.put(web, kStart + 5s);
  f.put(api, kStart + 1s);
  // The sweep closes what has been idle for the timeout, and only that.
  f.pool.expire(kStart + 10s);
  CHECK(f.closed_by(PoolClose::kIdleExpired) == 1);
  CHECK(f.pool.idle_count() == 2);
  // A take never returns an expired one, even before a sweep saw it.
  CHECK_FALSE(f.pool.take(api, kStart + 11s));
  CHECK(f.closed_by(PoolClose::kIdleExpired) == 2);
  CHECK(f.pool.take(web, kStart + 14s));  // 9 s idle: still good
  f.put(web, kStart + 14s);
  f.pool.expire(kStart + 100s);
  CHECK(f.pool.idle_count() == 0);
  CHECK(f.closed_by(PoolClose::kIdleExpired) == 3);
}

TEST_CASE("pool: at most max_idle_per_endpoint idle connections per endpoint", "[pool]") {
  Fixture f({.max_idle_per_endpoint = 2, .idle_timeout = 10s});
  const auto web = at("10.0.0.1", 8080);
  const auto api = at("10.0.0.2", 8080);
  for (int i = 0; i < 5; ++i) f.put(web, kStart);
  f.put(api, kStart);
  CHECK(f.pool.idle_count() == 3);  // two to web, one to api
  CHECK(f.closed_by(PoolClose::kOverCap) == 3);

  Fixture none({.max_idle_per_endpoint = 0, .idle_timeout = 10s});
  none.put(web, kStart);
  CHECK(none.pool.idle_count() == 0);
  CHECK(none.closed_by(PoolClose::kOverCap) == 1);
}

TEST_CASE("pool: connections to endpoints that left the document are closed", "[pool]") {
  Fixture f({.max_idle_per_endpoint = 8, .idle_timeout = 10s});
  auto document = testing::routed_document();
  const auto before = build(document);
  f.pool.on_document(before.get());
  const auto kept = at("10.0.0.1", 8080);
  const auto removed = at("10.0.0.2", 8080);
  const auto unlisted = at("10.9.9.9", 80);  // a pod called by its IP: never listed
  f.put(kept, kStart);
  f.put(removed, kStart);
  f.put(removed, kStart);
  f.put(unlisted, kStart);

  document.outbound.services[0].ports[0].endpoints.pop_back();  // 10.0.0.2 leaves
  const auto after = build(document);
  f.pool.on_document(after.get());
  CHECK(f.closed_by(PoolClose::kEndpointRemoved) == 2);
  CHECK(f.pool.idle_count() == 2);
  CHECK_FALSE(f.pool.take(removed, kStart));
  CHECK(f.pool.take(kept, kStart));
  CHECK(f.pool.take(unlisted, kStart));
  // An exchange with the removed endpoint that ends now is not pooled either.
  f.put(removed, kStart);
  CHECK(f.pool.idle_count() == 0);
  CHECK(f.closed_by(PoolClose::kEndpointRemoved) == 3);
  // Without a document every listed endpoint has left.
  f.put(kept, kStart);
  f.pool.on_document(nullptr);
  CHECK(f.pool.idle_count() == 0);
}

TEST_CASE("pool: it follows the store's documents, none missed between sweeps", "[pool]") {
  Fixture f({.max_idle_per_endpoint = 8, .idle_timeout = 10s});
  weft::Registry registry;
  ProxyMetrics metrics(registry);
  std::ostringstream log_text;
  weft::Logger log("test", weft::LogLevel::kError, weft::ostream_sink(log_text));
  ConfigStore store(metrics, log);
  auto document = testing::routed_document();
  REQUIRE(store.offer(testing::text_of(document), ConfigSource::kFile) == OfferResult::kAccepted);
  f.pool.follow(store);  // (a worker starts with the document already loaded)
  const auto removed = at("10.0.0.2", 8080);
  f.put(removed, kStart);
  // A new document lands before any sweep: the next exchange's end sees it.
  document.outbound.services[0].ports[0].endpoints.pop_back();
  REQUIRE(store.offer(testing::text_of(document), ConfigSource::kFile) == OfferResult::kAccepted);
  f.put(at("10.0.0.1", 8080), kStart);
  CHECK(f.closed_by(PoolClose::kEndpointRemoved) == 1);
  CHECK_FALSE(f.pool.take(removed, kStart));
}

TEST_CASE("the retry on a new connection: never once response bytes arrived", "[pool][retries]") {
  TryResult stale{.failure = TryFailure::kReset, .replayable = true, .idempotent = true};
  CHECK(retry_on_new_connection(stale, true, false));
  stale.response_started = true;  // e.g. "HTTP/1.1 200 OK\r\n", then the connection broke
  CHECK_FALSE(retry_on_new_connection(stale, true, false));
}

TEST_CASE("the real probe: open, closed by the peer, stray bytes", "[pool]") {
  asio::io_context io;
  Acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto pair = [&] {
    auto client = std::make_unique<Socket>(io);
    client->connect(acceptor.local_endpoint());
    return std::pair{std::move(client), std::make_unique<Socket>(acceptor.accept())};
  };
  auto [open, open_peer] = pair();
  CHECK(probe_idle(*open) == IdleState::kOpen);

  auto [closed, closed_peer] = pair();
  closed_peer->close();
  // (The FIN arrives at once on loopback; allow for a busy machine.)
  IdleState state = IdleState::kOpen;
  for (int i = 0; i < 500 && state == IdleState::kOpen; ++i) {
    state = probe_idle(*closed);
    if (state == IdleState::kOpen) std::this_thread::sleep_for(10ms);
  }
  CHECK(state == IdleState::kClosed);

  auto [stray, stray_peer] = pair();
  asio::write(*stray_peer, asio::buffer(std::string_view("x")));
  state = IdleState::kOpen;
  for (int i = 0; i < 500 && state == IdleState::kOpen; ++i) {
    state = probe_idle(*stray);
    if (state == IdleState::kOpen) std::this_thread::sleep_for(10ms);
  }
  CHECK(state == IdleState::kStrayBytes);
  CHECK(probe_idle(*stray) == IdleState::kStrayBytes);  // a probe reads nothing
}

TEST_CASE("pool: a plain connection never serves a try that expects an identity", "[pool][mtls]") {
  Fixture f;
  const auto api = at("10.96.5.5", 80);
  const std::string pay = "spiffe://cluster.local/ns/pay/sa/api";
  // Pooled while the Service was not all meshed, say.
  f.put(api, kStart);
  CHECK_FALSE(f.pool.take(api, kStart, pay));
  CHECK(f.closed_by(PoolClose::kIdentityChanged) == 1);
}

TEST_CASE("snapshot: the identities it expects, of its endpoints and other namespaces' Services",
          "[snapshot][mtls]") {
  auto document = testing::with_other_namespace();
  const std::string pay = "spiffe://cluster.local/ns/pay/sa/api";
  document.outbound.services[0].ports[0].endpoints[0].identity =
      "spiffe://cluster.local/ns/shop/sa/web";
  // The same address as a Service of the document: the document's wins.
  document.outbound.other_namespaces.push_back(
      {.ns = "pay",
       .name = "shadow",
       .cluster_ips = {"10.96.0.10"},
       .ports = {80},
       .identity = "spiffe://cluster.local/ns/pay/sa/shadow"});
  const auto snapshot = build(document);
  CHECK(snapshot->identity_of(at("10.96.5.5", 80)) == pay);
  CHECK(snapshot->identity_of(at("10.96.5.5", 9090)) == pay);
  CHECK(snapshot->identity_of(at("10.96.5.5", 81)).empty());  // a port it does not list
  CHECK(snapshot->identity_of(at("10.96.0.10", 80)).empty());
  CHECK(snapshot->identity_of(at("10.0.0.1", 8080)) == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK(snapshot->identity_of(at("10.0.0.2", 8080)).empty());  // a plain endpoint
  REQUIRE(snapshot->find_other_namespace(at("10.96.5.5", 80)) != nullptr);
  CHECK(snapshot->find_other_namespace(at("10.96.5.5", 80))->service->name == "api");
  CHECK(snapshot->find_other_namespace(at("10.96.5.5", 9090))->label == "api.pay:9090");
  CHECK(snapshot->find_other_namespace(at("10.96.0.10", 80)) == nullptr);
  CHECK(snapshot->find_by_destination(at("10.96.0.10", 80)) != nullptr);

  // An older snapshot keeps its answer when a newer one no longer lists
  // the endpoint (a try chosen from it is still mTLS).
  auto without = document;
  without.outbound.services[0].ports[0].endpoints.erase(
      without.outbound.services[0].ports[0].endpoints.begin());
  const auto newer = build(without);
  CHECK(newer->identity_of(at("10.0.0.1", 8080)).empty());
  CHECK(snapshot->identity_of(at("10.0.0.1", 8080)) == "spiffe://cluster.local/ns/shop/sa/web");
}

TEST_CASE("snapshot: the servers that treat their port as opaque, and the Services of only those",
          "[snapshot]") {
  auto document = testing::with_other_namespace();
  // web's second endpoint declares 8080 opaque; web-canary's does not.
  document.outbound.services[0].ports[0].endpoints[1].opaque = true;
  document.outbound.other_namespaces[0].opaque_ports = {9090};
  const auto snapshot = build(document);
  CHECK(snapshot->opaque_at_server(at("10.0.0.2", 8080)));        // the endpoint
  CHECK_FALSE(snapshot->opaque_at_server(at("10.0.0.1", 8080)));  // its neighbour
  // One endpoint of two: the Service keeps its routes (and detection).
  CHECK_FALSE(snapshot->opaque_at_server(at("10.96.0.10", 80)));
  CHECK_FALSE(snapshot->opaque_at_server(at("10.96.0.11", 8080)));
  CHECK_FALSE(snapshot->opaque_at_server(at("10.0.1.1", 9090)));
  CHECK(snapshot->opaque_at_server(at("10.96.5.5", 9090)));  // another namespace's
  CHECK_FALSE(snapshot->opaque_at_server(at("10.96.5.5", 80)));
  CHECK_FALSE(build(testing::with_other_namespace())->opaque_at_server(at("10.96.0.10", 80)));
  // Every endpoint of a port with routes: still not, or they would be
  // skipped (the endpoints themselves are).
  document.outbound.services[0].ports[0].endpoints[0].opaque = true;
  CHECK_FALSE(build(document)->opaque_at_server(at("10.96.0.10", 80)));
  CHECK(build(document)->opaque_at_server(at("10.0.0.1", 8080)));
  // Every endpoint of a port without routes: the Service port is opaque.
  document.outbound.services[1].ports[0].endpoints[0].opaque = true;
  CHECK(build(document)->opaque_at_server(at("10.96.0.11", 8080)));
}
