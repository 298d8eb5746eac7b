#pragma once

// The connection layer: the connection a try is sent on. Idle keep-alive
// connections to endpoints, per worker (no locks): a connection is returned
// only after a complete exchange. A new one is connected within a limit (the
// connect timeout cut at the request's deadline, from the timeouts layer).
// mTLS plugs in here: a new connection's handshake after connect, and the
// pool keyed by the peer identity as well as the address.
//
// What keeps the pool safe (as Envoy's and hyper's pools do):
// - every idle connection is probed before reuse, however recently it was
//   used: readable means the server closed it (EOF) or broke the protocol
//   (stray bytes, which would otherwise be read as the next response);
// - an idle connection expires after idle_timeout (closed by maintain_pool,
//   and never taken past it), before servers' own idle timeouts make it stale;
// - at most max_idle_per_endpoint idle connections per endpoint;
// - connections to endpoints that left the document are closed.
// A try that failed on a reused connection before any response byte came is
// sent once more on a new one (the retries layer: retry_on_new_connection).

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "proxy/config/config_store.h"
#include "proxy/core/asio.h"
#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/outcome.h"
#include "proxy/tls/stream.h"
#include "proxy/tls/tls_metrics.h"
#include "weft/metrics.h"

namespace weft::proxy {

struct UpstreamConnection {
  explicit UpstreamConnection(const Executor& executor) : socket(executor) {}
  Stream socket;  // plain, or mTLS to a meshed endpoint
  // The server identity a TLS connection proved (empty: plain): a pooled
  // connection serves only a try that expects exactly this one.
  std::string identity;
  ReadBuffer buffer;
  tcp::endpoint endpoint;
  bool reused = false;  // came from the pool: the server may have closed it meanwhile
  Clock::time_point idle_since{};
};

struct PoolLimits {
  std::size_t max_idle_per_endpoint = 64;
  Clock::duration idle_timeout = std::chrono::seconds(90);
};

// Why an idle connection was closed instead of reused.
enum class PoolClose {
  kIdleExpired,      // idle for idle_timeout
  kOverCap,          // max_idle_per_endpoint already idle for its endpoint
  kEndpointRemoved,  // its endpoint left the document
  kClosedByServer,   // found at EOF (or reset) when probed
  kStrayBytes,       // found with bytes nobody asked for when probed
  kIdentityChanged,  // its endpoint's expected identity (or meshing) changed
};
inline constexpr std::size_t kPoolCloseReasons = 6;
std::string_view to_string(PoolClose reason);

// What an idle connection looks like without reading from it.
enum class IdleState { kOpen, kClosed, kStrayBytes };
IdleState probe_idle(Socket& socket);
// A TLS connection: bytes on an idle one are the server's close_notify
// (servers send no session tickets), so readable means closed.
IdleState probe_idle(Stream& stream);

// mTLS for a new upstream connection: the worker's client context (null:
// no credentials yet) and the identity the endpoint must prove.
struct UpstreamTls {
  SSL_CTX* context = nullptr;
  std::string_view identity;  // empty: the endpoint is not meshed, plaintext
  // Counts the connection (tls or not, server_id) and handshake failures;
  // null: not counted.
  TlsMetrics* metrics = nullptr;
};

class UpstreamPool {
 public:
  using Probe = std::function<IdleState(UpstreamConnection&)>;
  // One counter per PoolClose (null: not counted); `probe` replaced in tests.
  using Counters = std::array<Counter*, kPoolCloseReasons>;
  explicit UpstreamPool(PoolLimits limits = {}, Counters counters = {}, Probe probe = {});

  // An idle connection to `endpoint` that is still usable, marked reused;
  // null when there is none. Those found expired or unusable are closed, and
  // so are those whose identity is not `identity` (a plain connection has
  // none): a plain and a TLS connection never serve each other's tries.
  std::unique_ptr<UpstreamConnection> take(const tcp::endpoint& endpoint, Clock::time_point now,
                                           std::string_view identity = {});
  // After a complete exchange; kept unless its endpoint is at the cap or it
  // holds unread bytes.
  void put(std::unique_ptr<UpstreamConnection> connection, Clock::time_point now);
  // Closes the connections idle for idle_timeout at `now`.
  void expire(Clock::time_point now);
  // A new document: closes the connections to endpoints the last one listed
  // and this one does not (null: no document). Addresses never listed (a
  // pod called by its IP, an inbound app port) are left alone.
  void on_document(const Snapshot* snapshot);
  // Follows the store's documents from now on (its current one at once):
  // checked at each put() and by maintain_pool, so that no document is missed
  // between a connection's exchange and the next sweep.
  void follow(ConfigStore& store);
  void check_document();
  void clear() { idle_.clear(); }
  std::size_t idle_count() const;
  const PoolLimits& limits() const { return limits_; }

 private:
  void count(PoolClose reason);

  PoolLimits limits_;
  Counters counters_;
  Probe probe_;
  // Per endpoint, oldest first: taken from the back (the most recently used
  // is the likeliest to be open), expired from the front.
  std::map<tcp::endpoint, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
  std::vector<tcp::endpoint> listed_;   // endpoints of the last document, sorted
  std::vector<tcp::endpoint> removed_;  // listed before it and not by it, sorted
  ConfigStore* store_ = nullptr;
  std::uint64_t generation_ = 0;  // of the store's document last seen
};

// The pool's upkeep, on its worker, for as long as the worker runs: every
// `period`, expired connections are closed, and those to endpoints a new
// document dropped.
awaitable<void> maintain_pool(UpstreamPool& pool, Clock::duration period);

// A new connection to `endpoint` (the caller looks in the pool first: a hit
// costs no coroutine frame). Null on failure, with `failure` kConnect, or
// kTimeout when the request's deadline stopped it. `deadline` is left
// disarmed.
awaitable<std::unique_ptr<UpstreamConnection>> connect_upstream(
    const Executor& executor, const tcp::endpoint& endpoint, Deadline& deadline,
    const ConnectLimit& limit, TryFailure& failure, UpstreamTls tls = {});

}  // namespace weft::proxy
