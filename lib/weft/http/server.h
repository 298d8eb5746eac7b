#pragma once

// A small HTTP/1.1 server (Boost.Beast) for the control plane's endpoints: the
// webhook's /mutate and everyone's /healthz, /readyz, /metrics. Plain HTTP or
// TLS 1.2+, with the certificate and key reloaded when their files change.
//
// It is built to stay up in front of an untrusted network:
// - a fixed number of threads, given at start;
// - every connection has a handshake, read and write deadline, so a client that
//   stops talking is closed, never waited on;
// - at most max_connections are open; a newcomer beyond it takes the place of
//   the connection that has waited longest for (the rest of) a request (a
//   client that stalls before or within its request, or an idle keep-alive),
//   those lingering after a refusal first and those that have had a request
//   answered last, and is closed at once only when every connection is being
//   answered; one client address may hold max_connections_per_source;
// - at most max_handshaking connections may sit in the TLS handshake: a new one
//   evicts the oldest, so a flood of stalled handshakes cannot lock out real
//   clients, which finish theirs in milliseconds;
// - the memory request bodies can hold is bounded: each body by max_body_bytes
//   (413 beyond), all bodies being read or handled at once by
//   max_body_bytes_in_flight, bodies over large_body_bytes by max_large_bodies,
//   and what the bodies of one client address hold by the *_per_source limits
//   (503 beyond any). A body is granted memory as its bytes arrive, never from
//   its declared length, so heads alone hold nothing; with shed_resident_bytes
//   set, requests that carry a body get a 503 while the process's resident
//   memory is above it;
// - a request refused before it was read whole is answered, then the rest of
//   what the client sends is read and dropped for up to linger_timeout, so the
//   client sees the answer instead of a reset;
// - a handler that throws yields a 500, never a crash;
// - an asynchronous route (AsyncRoutes) answers when its work is done, from
//   any thread: a handler that waits on something slow (an API server) hands
//   it elsewhere and returns, so it never holds one of the few threads.
//
//   weft::http::Routes routes;
//   routes["/healthz"] = [](const weft::http::Request&) { return weft::http::Response{200, "ok"};
//   }; auto server = weft::http::Server::start(options, std::move(routes)); if (!server) { /*
//   server.error().message says why (bad key, port in use) */ }

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "weft/log.h"
#include "weft/metrics.h"
#include "weft/result.h"

namespace weft::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target before '?'
  std::string query;   // the target after '?', without it; empty if none
  std::string content_type;
  std::string body;
  std::string authorization;  // the Authorization header, as sent
  std::string peer;           // the client's address ("10.244.0.7"); empty if unknown
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  // Sent as Retry-After (seconds) when positive: with a 429 or 503, when to try again.
  std::chrono::seconds retry_after{0};
};

// Called on one of the server's threads, concurrently with other requests.
using Handler = std::function<Response(const Request&)>;
// Exact path match; an unknown path gets 404.
using Routes = std::map<std::string, Handler, std::less<>>;

// Answers a request of an asynchronous route. Call it once, from any thread,
// now or later (calls after the first are ignored); the request's body memory
// (see ServerOptions) is held until then. Dropped uncalled, the connection is
// closed without an answer.
using Respond = std::function<void(Response)>;
// Called on one of the server's threads; returns at once and answers through
// `respond` when its work is done. Nothing times it out: the handler bounds
// its own work. A throw before `respond` was called yields a 500.
using AsyncHandler = std::function<void(Request, Respond)>;
// Looked up after Routes (a path in both is a sync route).
using AsyncRoutes = std::map<std::string, AsyncHandler, std::less<>>;

// PEM files. The certificate file may hold a chain (leaf first).
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port, see Server::port()
  int threads = 2;
  std::optional<TlsFiles> tls;  // plain HTTP when empty
  // How often the TLS files are read again; a changed pair that loads is used for
  // new connections, a pair that fails to load is logged and the old one kept.
  std::chrono::milliseconds tls_reload_interval{2000};
  std::chrono::milliseconds handshake_timeout{5000};
  // From the end of the previous response (or the handshake) to a complete request.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_source = 256;
  std::size_t max_handshaking = 64;
  std::size_t max_body_bytes = 1024 * 1024;
  // Bytes request bodies hold while they are read or handled (a body is
  // granted memory as it arrives, at most twice what it has received), and how
  // many of those bodies may be large; the same for one client address.
  std::size_t max_body_bytes_in_flight = 32 * 1024 * 1024;
  std::size_t large_body_bytes = 64 * 1024;
  std::size_t max_large_bodies = 8;
  std::size_t max_body_bytes_in_flight_per_source = 8 * 1024 * 1024;
  std::size_t max_large_bodies_per_source = 2;
  // After answering a request that was not read whole: how long to read and
  // drop what the client still sends before closing.
  std::chrono::milliseconds linger_timeout{2000};
  // Resident memory (bytes) beyond which requests with a body are refused with
  // 503 until it falls again; sampled every resident_sample_interval. 0: never.
  std::size_t shed_resident_bytes = 0;
  std::chrono::milliseconds resident_sample_interval{100};
  // stop(): in-flight requests get this long to finish.
  std::chrono::milliseconds drain_timeout{5000};
  Logger* logger = nullptr;  // optional; must outlive the server
  // Optional; when set, connection metrics are registered as <metrics_prefix>_http_...
  Registry* registry = nullptr;
  std::string metrics_prefix = "weft";
};

// Counts since start, for tests and logs.
struct ServerStats {
  std::size_t open_connections = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected_over_capacity = 0;
  std::uint64_t handshakes_evicted = 0;
  std::uint64_t waiting_evicted = 0;      // closed to make room under the cap
  std::uint64_t rejected_per_source = 0;  // over max_connections_per_source
  std::uint64_t handshakes_failed = 0;
  std::uint64_t tls_reloads = 0;
  std::uint64_t requests = 0;
  // Requests refused from their head, by reason (see ServerOptions).
  std::uint64_t refused_body_too_large = 0;   // 413
  std::uint64_t refused_bytes_in_flight = 0;  // 503
  std::uint64_t refused_large_bodies = 0;     // 503
  std::uint64_t refused_source = 0;           // 503: one address's share
  std::uint64_t refused_memory = 0;           // 503
  std::size_t body_bytes_in_flight = 0;
  std::size_t body_sources = 0;  // client addresses holding body memory now
};

// The process's resident set size in bytes (/proc/self/statm); 0 if unknown.
std::size_t process_resident_bytes();

class Server {
 public:
  // Loads the TLS files (if any), binds, and starts the threads. Fails with a
  // message naming the file or address when it cannot.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Routes routes,
                                               AsyncRoutes async_routes = {});

  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  // Stops accepting, closes idle connections, lets requests in flight finish
  // (up to drain_timeout), then joins the threads. Idempotent. An asynchronous
  // request answered later than that is dropped (its connection is closed).
  void stop();
  ServerStats stats() const;

  class Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace weft::http
