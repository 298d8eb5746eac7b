#include "proxy/core/connection.h"

#include <algorithm>
#include <exception>
#include <string>

#include "proxy/core/connection_accounting.h"
#include "proxy/core/deadline.h"
#include "proxy/core/original_destination.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/server.h"
#include "proxy/tcp/detect.h"
#include "proxy/tcp/tunnel.h"

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
// configuration knows it, otherwise to the destination itself.
// `accepted`: when the client connection was, from which the silent limit
// runs.
awaitable<void> proxy_opaque(Worker& worker, Socket& client, ReadBuffer& buffer,
                             const tcp::endpoint& destination, Direction direction,
                             Clock::time_point accepted, std::uint64_t& bytes_read,
                             std::uint64_t& bytes_written) {
  // What detection read, copied to its own size; detection's buffer (16 KiB
  // or more) is freed, not held for the tunnel's life.
  const std::string pending(buffer.data());
  buffer = ReadBuffer();
  tcp::endpoint address = destination;
  if (direction == Direction::kOutbound) {
    if (const auto& snapshot = worker.routes.snapshot()) {
      if (const ServiceTarget* target = snapshot->find_by_destination(destination)) {
        const auto balancer = worker.routes.balancer(*target);
        const auto endpoint =
            balancer ? balancer->pick(worker.routes.random(), Clock::now()) : nullptr;
        if (!endpoint) co_return;  // no endpoint: refuse the connection
        address = endpoint->address;
      }
    }
  }
  Socket upstream(client.get_executor());
  Deadline deadline(client.get_executor());
  deadline.arm(upstream, worker.runtime.settings.connect_timeout);
  error_code ec;
  co_await upstream.async_connect(address, redirect(ec));
  deadline.disarm();
  if (ec) co_return;
  upstream.set_option(tcp::no_delay(true), ec);
  const Settings& settings = worker.runtime.settings;
  ProxyMetrics& metrics = worker.runtime.metrics.metrics();
  const TunnelBytes bytes = co_await tunnel(
      client, pending, upstream, {},
      {.limit = settings.tunnel_idle_timeout_for(destination.port()),
       .closed = &metrics.limit_reached(direction, Limit::kTunnelIdleTimeout),
       // (Bounded, so that the sum cannot overflow.)
       .silent_until = accepted + std::min<Clock::duration>(settings.silent_connection_timeout,
                                                            std::chrono::hours(24 * 365 * 10)),
       .silent_closed = &metrics.limit_reached(direction, Limit::kSilentConnectionTimeout),
       .half_closed_limit = settings.tunnel_half_closed_timeout,
       .half_closed = &metrics.limit_reached(direction, Limit::kTunnelHalfClosedTimeout)});
  bytes_read += bytes.a_to_b;
  bytes_written += bytes.b_to_a;
}

awaitable<void> handle(Worker& worker, Socket client, Direction direction,
                       ConnectionSlot listener_slot) {
  const Clock::time_point accepted = Clock::now();
  Runtime& runtime = worker.runtime;
  const auto destination = destination_of(client, runtime.settings, direction);
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
      const auto peer = client.remote_endpoint(ec);
      runtime.log.warn("inbound connection to an address not the pod's own: refused",
                       {{"destination", endpoint_label(*destination)},
                        {"client", ec ? std::string() : endpoint_label(peer)},
                        {"not_logged_since_last", *skipped}});
    }
    co_return;
  }
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
  const auto& opaque_ports = runtime.settings.opaque_ports;
  DetectedProtocol protocol = DetectedProtocol::kOpaque;
  std::string_view protocol_label = "opaque-port";
  bool client_gone = false;
  if (!opaque_ports.contains(destination->port())) {
    // Server-first protocols send nothing: after the timeout, it is TCP.
    Deadline deadline(client.get_executor());
    deadline.arm(client, runtime.settings.detect_timeout);
    protocol = DetectedProtocol::kNeedMoreBytes;
    while (protocol == DetectedProtocol::kNeedMoreBytes) {
      error_code ec;
      // Readable first, so a client that sends nothing never takes a buffer.
      if (buffer.empty()) co_await client.async_wait(Socket::wait_read, redirect(ec));
      const std::size_t n =
          ec ? 0 : co_await client.async_read_some(buffer.prepare(), redirect(ec));
      if (ec) {
        if (deadline.expired()) {
          protocol = DetectedProtocol::kOpaque;
        } else {
          client_gone = true;
        }
        break;
      }
      buffer.commit(n);
      bytes_read += n;
      protocol = detect_protocol(buffer.data());
    }
    deadline.disarm();
    protocol_label = protocol == DetectedProtocol::kHttp1 ? "http1" : "opaque";
  }
  if (!client_gone) {
    runtime.metrics.metrics()
        .protocol_detect_total
        .with_labels({std::string(to_string(direction)), std::string(protocol_label)})
        .inc();
    if (protocol == DetectedProtocol::kHttp1) {
      const ConnectionBytes bytes =
          co_await serve_http1(worker, client, buffer, {direction, *destination});
      bytes_read += bytes.read;
      bytes_written += bytes.written;
    } else {
      co_await proxy_opaque(worker, client, buffer, *destination, direction, accepted, bytes_read,
                            bytes_written);
    }
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
