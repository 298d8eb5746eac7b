#include "proxy/core/connection.h"

#include <algorithm>
#include <exception>
#include <string>

#include "proxy/core/connection_accounting.h"
#include "proxy/core/deadline.h"
#include "proxy/core/original_destination.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/server.h"
#include "proxy/http2/server.h"
#include "proxy/layers/authorization.h"
#include "proxy/tcp/detect.h"
#include "proxy/tcp/tunnel.h"
#include "proxy/tls/client_hello.h"
#include "proxy/tls/mtls_mode.h"
#include "proxy/tls/stream.h"
#include "proxy/tls/tls_context.h"

namespace weft::proxy {
namespace {

std::optional<tcp::endpoint> destination_of(Socket& socket, const Settings& settings,
                                            Direction direction) {
  if (auto original = original_destination(socket)) return original;
  const auto& fallback =
      direction == Direction::kOutbound ? settings.outbound_fallback : settings.inbound_fallback;
  if (!fallback) return std::nullopt;
  error_code ec;
  const auto address = asio::ip::make_address(fallback->host, ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, fallback->port);
}

// Opaque TCP: to an endpoint of the destination's Service when the
// configuration knows it, otherwise to the destination itself; over mTLS
// when that endpoint is meshed. `accepted`: when the client connection was,
// from which the silent limit runs.
// `recheck` (inbound): asked while the tunnel is open whether it may stay.
awaitable<void> proxy_opaque(Worker& worker, Stream& client, ReadBuffer& buffer,
                             const tcp::endpoint& destination, Direction direction,
                             Clock::time_point accepted, std::uint64_t& bytes_read,
                             std::uint64_t& bytes_written, TunnelRecheck* recheck) {
  // What detection read, copied to its own size; detection's buffer (16 KiB
  // or more) is freed, not held for the tunnel's life.
  const std::string pending(buffer.data());
  buffer = ReadBuffer();
  tcp::endpoint address = destination;
  std::shared_ptr<const Snapshot> snapshot;  // the one that chose `address`
  if (direction == Direction::kOutbound) {
    snapshot = worker.routes.snapshot();
    if (snapshot) {
      if (const ServiceTarget* target = snapshot->find_by_destination(destination)) {
        const auto balancer = worker.routes.balancer(*target);
        const auto endpoint =
            balancer ? balancer->pick(worker.routes.random(), Clock::now()) : nullptr;
        if (!endpoint) co_return;  // no endpoint: refuse the connection
        address = endpoint->address;
      }
    }
  }
  // A meshed endpoint (outbound only: inbound goes to the pod's own app).
  const std::string_view identity = snapshot ? snapshot->identity_of(address) : std::string_view();
  // Only outbound connections are counted in tcp_tls_connections_total here:
  // an inbound one was counted, with its client, when it was accepted.
  const UpstreamTls tls{
      .context = identity.empty() ? nullptr : worker.tls.get(TlsRole::kClient),
      .identity = identity,
      .metrics = direction == Direction::kOutbound ? &worker.runtime.tls_metrics : nullptr};
  Deadline deadline(client.get_executor());
  TryFailure failure = TryFailure::kNone;
  const auto upstream = co_await connect_upstream(
      client.get_executor(), address, deadline,
      {.expiry = Clock::now() + worker.runtime.settings.connect_timeout}, failure, tls);
  if (!upstream) co_return;
  const Settings& settings = worker.runtime.settings;
  ProxyMetrics& metrics = worker.runtime.metrics.metrics();
  const TunnelBytes bytes = co_await tunnel(
      client, pending, upstream->socket, {},
      {.limit = settings.tunnel_idle_timeout_for(destination.port()),
       .closed = &metrics.limit_reached(direction, Limit::kTunnelIdleTimeout),
       // (Bounded, so that the sum cannot overflow.)
       .silent_until = accepted + std::min<Clock::duration>(settings.silent_connection_timeout,
                                                            std::chrono::hours(24 * 365 * 10)),
       .silent_closed = &metrics.limit_reached(direction, Limit::kSilentConnectionTimeout),
       .half_closed_limit = settings.tunnel_half_closed_timeout,
       .half_closed = &metrics.limit_reached(direction, Limit::kTunnelHalfClosedTimeout),
       .recheck = recheck});
  bytes_read += bytes.a_to_b;
  bytes_written += bytes.b_to_a;
}

// Reads the client's first bytes until `detect` (given all of them at each
// read) decides, within `timeout` (then: opaque, a server-first protocol).
// Null when the client went away.
template <typename Detect>
awaitable<std::optional<DetectedProtocol>> read_until_detected(Stream& client, ReadBuffer& buffer,
                                                               Clock::duration timeout,
                                                               Detect detect,
                                                               std::uint64_t& bytes_read) {
  Deadline deadline(client.get_executor());
  deadline.arm(client, timeout);
  DetectedProtocol protocol =
      buffer.empty() ? DetectedProtocol::kNeedMoreBytes : detect(buffer.data());
  while (protocol == DetectedProtocol::kNeedMoreBytes) {
    error_code ec;
    // Readable first, so a client that sends nothing never takes a buffer
    // (a TLS stream may hold decrypted bytes already: read at once).
    if (buffer.empty() && !client.has_buffered_bytes()) {
      co_await client.async_wait(Socket::wait_read, redirect(ec));
    }
    const std::size_t n = ec ? 0 : co_await client.async_read_some(buffer.prepare(), redirect(ec));
    if (ec) {
      if (deadline.expired()) {
        protocol = DetectedProtocol::kOpaque;
        break;
      }
      co_return std::nullopt;
    }
    buffer.commit(n);
    bytes_read += n;
    protocol = detect(buffer.data());
  }
  deadline.disarm();
  co_return protocol;
}

// A client of another trust domain is refused: said, but at most once a
// second (whoever holds a leaf under a shared anchor can send many).
void log_foreign_client(Logger& log, Stream& client, const std::string& identity) {
  static LogThrottle throttle(std::chrono::seconds(1));
  const auto skipped = throttle.admit(LogThrottle::Clock::now());
  if (!skipped) return;
  error_code ec;
  const auto peer = client.lowest_layer().remote_endpoint(ec);
  log.warn("inbound mTLS client of another trust domain: refused",
           {{"client_id", identity},
            {"client", ec ? std::string() : endpoint_label(peer)},
            {"not_logged_since_last", *skipped}});
}

// Terminates a meshed client's mTLS on `client` (the ClientHello in
// `buffer`, handed to OpenSSL); true with the client's identity once the
// handshake is done. Failures are counted by reason.
awaitable<bool> accept_mesh_tls(Worker& worker, Stream& client, ReadBuffer& buffer,
                                std::string& client_identity) {
  TlsMetrics& metrics = worker.runtime.tls_metrics;
  SSL_CTX* context = worker.tls.get(TlsRole::kServer);
  if (context == nullptr ||
      !client.start_tls(context, TlsRole::kServer, std::string(buffer.data()))) {
    metrics.count_failure(Direction::kInbound, HandshakeFailure::kNoCredentials);
    co_return false;
  }
  buffer = ReadBuffer();
  Deadline deadline(client.get_executor());
  deadline.arm(client, worker.runtime.settings.tls_handshake_timeout);
  HandshakeFailure failure = HandshakeFailure::kProtocol;
  const bool done = co_await client.handshake(failure);
  deadline.disarm();
  if (!done) {
    metrics.count_failure(Direction::kInbound, failure);
    if (failure == HandshakeFailure::kWrongTrustDomain) {
      log_foreign_client(worker.runtime.log, client, refused_client_identity(client.ssl()));
    }
    co_return false;
  }
  client_identity = peer_spiffe_id(client.ssl());
  if (client_identity.empty()) {
    metrics.count_failure(Direction::kInbound, HandshakeFailure::kNoIdentity);
    co_return false;
  }
  co_return true;
}

PlaintextInbound plaintext_access(Worker& worker, std::uint16_t port, DetectedProtocol protocol) {
  return plaintext_inbound(worker.routes.policies()->mtls_mode(port),
                           worker.runtime.settings.inbound_probes, port,
                           protocol == DetectedProtocol::kHttp1);
}

// An inbound opaque connection's authorization: decided once its client is
// known (after the mTLS handshake, or at accept), with a rate-limit token
// per connection, before its upstream is opened; decided again while it is
// open whenever the policies changed (the tunnel asks at most once a
// second), and closed when they no longer allow it.
class OpaqueAuthorization final : public TunnelRecheck {
 public:
  OpaqueAuthorization(Worker& worker, std::uint16_t port, std::string_view identity,
                      const asio::ip::address& address, authz::InboundPolicies::Opaque opaque)
      : worker_(worker), port_(port), identity_(identity), address_(address), opaque_(opaque) {}

  bool admit() {
    generation_ = worker_.routes.policy_generation();
    const ClientKey key(identity_, address_);
    const authz::Client client{identity_, address_};
    const AuthorizationVerdict verdict = authorize_connection(
        {*worker_.routes.policies(), port_, client, key.view(), worker_.runtime.rate_limiter},
        opaque_);
    record_verdict(worker_.runtime.authz_telemetry, verdict, false, key.view(), port_);
    return !verdict.refused();
  }

  bool still_allowed() override {
    const std::uint64_t generation = worker_.routes.policy_generation();
    if (generation == generation_) return true;
    generation_ = generation;
    Runtime& runtime = worker_.runtime;
    const authz::InboundPolicies& policies = *worker_.routes.policies();
    if (identity_.empty() && policies.mtls_mode(port_) == proxyconfig::MtlsMode::kStrict) {
      runtime.tls_metrics.strict_refused(StrictRefusal::kPlaintext).inc();
      return false;
    }
    const authz::Decision decision =
        policies.decide_connection(port_, {identity_, address_}, opaque_);
    if (decision.allowed) return true;
    runtime.authz_metrics.counter(AuthzCount::kTcpTerminate, decision.policy, decision.rule).inc();
    const ClientKey key(identity_, address_);
    if (const auto skipped = runtime.denial_log.admit(key.view(), KeyedLogThrottle::Clock::now())) {
      runtime.log.warn("open inbound TCP connection closed: the policies no longer allow it",
                       {{"client", key.view()},
                        {"port", port_},
                        {"policy", decision.policy},
                        {"rule", decision.rule},
                        {"reason", decision.reason},
                        {"not_logged_since_last", *skipped}});
    }
    return false;
  }

 private:
  Worker& worker_;
  const std::uint16_t port_;
  const std::string_view identity_;  // the connection's (outlives this)
  const asio::ip::address address_;
  const authz::InboundPolicies::Opaque opaque_;
  std::uint64_t generation_ = 0;
};

awaitable<void> handle(Worker& worker, Socket socket, Direction direction,
                       ConnectionSlot listener_slot) {
  const Clock::time_point accepted = Clock::now();
  Runtime& runtime = worker.runtime;
  const auto destination = destination_of(socket, runtime.settings, direction);
  if (!destination) {
    runtime.log.debug("connection not redirected and no fallback destination: closed",
                      {{"direction", to_string(direction)}});
    co_return;
  }
  if (direction == Direction::kInbound &&
      !delivers_to_own_pod(*destination, runtime.own_addresses)) {
    runtime.metrics.metrics().inbound_foreign_destination_total.inc();
    if (const auto skipped = runtime.foreign_destination_log.admit(LogThrottle::Clock::now())) {
      error_code ec;
      const auto peer = socket.remote_endpoint(ec);
      runtime.log.warn("inbound connection to an address not the pod's own: refused",
                       {{"destination", endpoint_label(*destination)},
                        {"client", ec ? std::string() : endpoint_label(peer)},
                        {"not_logged_since_last", *skipped}});
    }
    co_return;
  }
  asio::ip::address client_address;
  {
    error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (!ec) client_address = peer.address();
  }
  Stream client(std::move(socket));
  // Held for the connection's life: the series cannot expire under it.
  const std::shared_ptr<TcpMetrics> tcp_metrics = runtime.metrics.tcp(
      direction, metric_target(worker.routes.snapshot().get(), direction, *destination));
  ConnectionAccounting accounting(runtime.open_connections, *tcp_metrics);
  // Given back before the connection is counted closed: whoever sees it
  // closed finds its place under the listener's cap free.
  const ConnectionSlot slot = std::move(listener_slot);
  std::uint64_t& bytes_read = accounting.bytes_read;
  std::uint64_t& bytes_written = accounting.bytes_written;

  ReadBuffer buffer;
  // Outbound, also a port the server's own proxy treats as opaque (the
  // operator writes it into the document): detecting HTTP here would only
  // delay a server-first protocol, and carry HTTP as HTTP/2 to a proxy that
  // hands the app what it receives.
  bool opaque_port = runtime.settings.opaque_ports.contains(destination->port());
  if (!opaque_port && direction == Direction::kOutbound) {
    const Snapshot* snapshot = worker.routes.snapshot().get();
    opaque_port = snapshot != nullptr && snapshot->opaque_at_server(*destination);
  }
  DetectedProtocol protocol = DetectedProtocol::kOpaque;
  std::string_view protocol_label = "opaque-port";
  // Inbound, a meshed client's ClientHello is looked for even on an opaque
  // port (its proxy speaks first), as long as the proxy can terminate it.
  const bool mesh_tls_possible =
      direction == Direction::kInbound && runtime.credentials.generation() != 0;
  if (!opaque_port || mesh_tls_possible) {
    // Server-first protocols send nothing: after the timeout, it is TCP.
    // A ClientHello is read on from one read to the next, not from its start.
    ClientHelloReader hello;
    const auto detect_first = [&hello, direction](std::string_view bytes) {
      return direction == Direction::kInbound ? detect_inbound_protocol(bytes, hello)
                                              : detect_protocol(bytes);
    };
    const auto detected = co_await read_until_detected(
        client, buffer, runtime.settings.detect_timeout, detect_first, bytes_read);
    if (hello.too_large()) {
      runtime.metrics.metrics().limit_reached(direction, Limit::kClientHelloSize).inc();
    }
    if (!detected) co_return;  // the client went away
    protocol = *detected;
    if (opaque_port &&
        (protocol == DetectedProtocol::kHttp1 || protocol == DetectedProtocol::kHttp2)) {
      protocol = DetectedProtocol::kOpaque;
    }
  }
  std::string client_identity;
  PlaintextInbound plaintext;
  if (protocol == DetectedProtocol::kMeshTls) {
    if (!co_await accept_mesh_tls(worker, client, buffer, client_identity)) co_return;
    // The decrypted bytes go through the same detection as plaintext.
    protocol = DetectedProtocol::kOpaque;
    if (!opaque_port) {
      const auto detected = co_await read_until_detected(
          client, buffer, runtime.settings.detect_timeout, detect_protocol, bytes_read);
      if (!detected) co_return;
      protocol = *detected;
    }
  } else if (direction == Direction::kInbound) {
    // Strict: nothing but a meshed client's mTLS reaches the app, save the
    // kubelet's HTTP probes (checked per request by the admission layer).
    plaintext = plaintext_access(worker, destination->port(), protocol);
    if (plaintext.access == PlaintextInbound::Access::kRefused) {
      runtime.tls_metrics.strict_refused(StrictRefusal::kPlaintext).inc();
      co_return;
    }
  }
  if (direction == Direction::kInbound) {
    runtime.tls_metrics.count_connection(Direction::kInbound, client_identity);
  }
  if (!opaque_port || !client_identity.empty()) {
    protocol_label = protocol == DetectedProtocol::kHttp1   ? "http1"
                     : protocol == DetectedProtocol::kHttp2 ? "http2"
                                                            : "opaque";
  }
  runtime.metrics.metrics()
      .protocol_detect_total
      .with_labels({std::string(to_string(direction)), std::string(protocol_label)})
      .inc();
  if (protocol == DetectedProtocol::kHttp1 || protocol == DetectedProtocol::kHttp2) {
    const ConnectionTarget target{.direction = direction,
                                  .destination = *destination,
                                  .client_identity = client_identity,
                                  .client_address = client_address};
    ConnectionBytes bytes;
    if (protocol == DetectedProtocol::kHttp1) {
      bytes = co_await serve_http1(worker, client, buffer, target);
    } else {
      bytes = co_await serve_http2(worker, client, buffer, target);
    }
    bytes_read += bytes.read;
    bytes_written += bytes.written;
  } else if (direction == Direction::kInbound) {
    OpaqueAuthorization authorization(worker, destination->port(), client_identity, client_address,
                                      opaque_port ? authz::InboundPolicies::Opaque::kDeclared
                                                  : authz::InboundPolicies::Opaque::kUndetected);
    if (!authorization.admit()) co_return;  // nothing reached the app
    co_await proxy_opaque(worker, client, buffer, *destination, direction, accepted, bytes_read,
                          bytes_written, &authorization);
  } else {
    co_await proxy_opaque(worker, client, buffer, *destination, direction, accepted, bytes_read,
                          bytes_written, nullptr);
  }
}

}  // namespace

void serve_connection(Worker& worker, Socket socket, Direction direction, ConnectionSlot slot) {
  // Traffic never throws (error codes throughout); anything else that does
  // (allocation) ends this connection only, and is said rather than swallowed.
  asio::co_spawn(worker.io, handle(worker, std::move(socket), direction, std::move(slot)),
                 [&log = worker.runtime.log](const std::exception_ptr& error) {
                   if (!error) return;
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     log.warn("connection ended by an exception", {{"error", e.what()}});
                   } catch (...) {
                     log.warn("connection ended by an exception");
                   }
                 });
}

}  // namespace weft::proxy
