#include "proxy/layers/connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace weft::proxy {

std::string_view to_string(PoolClose reason) {
  switch (reason) {
    case PoolClose::kIdleExpired:
      return "idle_expired";
    case PoolClose::kOverCap:
      return "over_cap";
    case PoolClose::kEndpointRemoved:
      return "endpoint_removed";
    case PoolClose::kClosedByServer:
      return "closed_by_server";
    case PoolClose::kStrayBytes:
      return "stray_bytes";
    case PoolClose::kIdentityChanged:
      return "identity_changed";
  }
  return "unknown";
}

// An idle connection must have nothing to read: EOF means the server closed
// it, data means it broke the protocol. One system call, without blocking.
IdleState probe_idle(Socket& socket) {
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return IdleState::kStrayBytes;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    return IdleState::kOpen;
  }
  return IdleState::kClosed;  // EOF, or an error pending (reset)
}

IdleState probe_idle(Stream& stream) {
  if (!stream.is_tls()) return probe_idle(stream.lowest_layer());
  if (stream.has_buffered_bytes()) return IdleState::kStrayBytes;
  return probe_idle(stream.lowest_layer()) == IdleState::kOpen ? IdleState::kOpen
                                                               : IdleState::kClosed;
}

UpstreamPool::UpstreamPool(PoolLimits limits, Counters counters, Probe probe)
    : limits_(limits), counters_(counters), probe_(std::move(probe)) {
  if (!probe_)
    probe_ = [](UpstreamConnection& connection) { return probe_idle(connection.socket); };
}

void UpstreamPool::count(PoolClose reason) {
  if (Counter* counter = counters_[static_cast<std::size_t>(reason)]) counter->inc();
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const tcp::endpoint& endpoint,
                                                       Clock::time_point now,
                                                       std::string_view identity) {
  const auto found = idle_.find(endpoint);
  if (found == idle_.end()) return nullptr;
  auto& connections = found->second;
  std::unique_ptr<UpstreamConnection> usable;
  while (!connections.empty() && !usable) {
    std::unique_ptr<UpstreamConnection> connection = std::move(connections.back());
    connections.pop_back();
    if (now - connection->idle_since >= limits_.idle_timeout) {
      // (The rest are older still.)
      count(PoolClose::kIdleExpired);
      for (std::size_t i = 0; i < connections.size(); ++i) count(PoolClose::kIdleExpired);
      connections.clear();
      break;
    }
    if (connection->identity != identity) {
      count(PoolClose::kIdentityChanged);
      continue;
    }
    switch (probe_(*connection)) {
      case IdleState::kOpen:
        connection->reused = true;
        usable = std::move(connection);
        break;
      case IdleState::kClosed:
        count(PoolClose::kClosedByServer);
        break;
      case IdleState::kStrayBytes:
        count(PoolClose::kStrayBytes);
        break;
    }
  }
  if (connections.empty()) idle_.erase(found);
  return usable;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConnection> connection, Clock::time_point now) {
  check_document();
  // Bytes after the response are not the next response: the connection is closed.
  if (!connection->buffer.empty()) {
    count(PoolClose::kStrayBytes);
    return;
  }
  // An exchange that ended after its endpoint left the document.
  if (std::binary_search(removed_.begin(), removed_.end(), connection->endpoint)) {
    count(PoolClose::kEndpointRemoved);
    return;
  }
  auto& connections = idle_[connection->endpoint];
  if (connections.size() >= limits_.max_idle_per_endpoint) {
    count(PoolClose::kOverCap);
    if (connections.empty()) idle_.erase(connection->endpoint);
    return;
  }
  connection->idle_since = now;
  connections.push_back(std::move(connection));
}

void UpstreamPool::expire(Clock::time_point now) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& connections = it->second;
    const auto fresh = std::find_if(connections.begin(), connections.end(), [&](const auto& c) {
      return now - c->idle_since < limits_.idle_timeout;
    });
    for (auto old = connections.begin(); old != fresh; ++old) count(PoolClose::kIdleExpired);
    connections.erase(connections.begin(), fresh);
    it = connections.empty() ? idle_.erase(it) : std::next(it);
  }
}

void UpstreamPool::on_document(const Snapshot* snapshot) {
  std::vector<tcp::endpoint> listed;
  if (snapshot != nullptr) {
    for (const ServiceTarget& target : snapshot->targets()) {
      listed.insert(listed.end(), target.endpoints.begin(), target.endpoints.end());
    }
  }
  std::sort(listed.begin(), listed.end());
  listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
  removed_.clear();
  for (const tcp::endpoint& endpoint : listed_) {
    if (std::binary_search(listed.begin(), listed.end(), endpoint)) continue;
    removed_.push_back(endpoint);
    const auto found = idle_.find(endpoint);
    if (found == idle_.end()) continue;
    for (std::size_t i = 0; i < found->second.size(); ++i) count(PoolClose::kEndpointRemoved);
    idle_.erase(found);
  }
  listed_ = std::move(listed);
}

void UpstreamPool::follow(ConfigStore& store) {
  store_ = &store;
  generation_ = store.generation();
  on_document(store.current().get());
}

void UpstreamPool::check_document() {
  if (store_ == nullptr || store_->generation() == generation_) return;
  // (The generation first: a document landing in between is seen again next time.)
  generation_ = store_->generation();
  on_document(store_->current().get());
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t count = 0;
  for (const auto& [endpoint, connections] : idle_) count += connections.size();
  return count;
}

awaitable<void> maintain_pool(UpstreamPool& pool, Clock::duration period) {
  Timer timer(co_await asio::this_coro::executor);
  while (true) {
    timer.expires_after(period);
    error_code ec;
    co_await timer.async_wait(redirect(ec));
    if (ec) co_return;
    pool.expire(Clock::now());
    pool.check_document();
  }
}

awaitable<std::unique_ptr<UpstreamConnection>> connect_upstream(
    const Executor& executor, const tcp::endpoint& endpoint, Deadline& deadline,
    const ConnectLimit& limit, TryFailure& failure, UpstreamTls tls) {
  // (The view is into the pool's document, which may change while this waits.)
  const std::string identity(tls.identity);
  tls.identity = identity;
  auto upstream = std::make_unique<UpstreamConnection>(executor);
  upstream->endpoint = endpoint;
  error_code ec;
  deadline.arm_until(upstream->socket, limit.expiry);
  co_await upstream->socket.lowest_layer().async_connect(endpoint, redirect(ec));
  deadline.disarm();
  if (ec) {
    failure = limit.by_deadline && deadline.expired() ? TryFailure::kTimeout : TryFailure::kConnect;
    co_return nullptr;
  }
  upstream->socket.lowest_layer().set_option(tcp::no_delay(true), ec);
  if (tls.identity.empty()) {
    if (tls.metrics != nullptr) tls.metrics->count_connection(Direction::kOutbound, {});
    co_return upstream;
  }
  // A meshed endpoint: mTLS or nothing, never plaintext.
  const auto refuse = [&](HandshakeFailure reason) {
    if (tls.metrics != nullptr) tls.metrics->count_failure(Direction::kOutbound, reason);
    failure = reason == HandshakeFailure::kTimeout && limit.by_deadline ? TryFailure::kTimeout
                                                                        : TryFailure::kConnect;
  };
  if (tls.context == nullptr || !upstream->socket.start_tls(tls.context, TlsRole::kClient, {},
                                                            sni_for_identity(tls.identity))) {
    refuse(HandshakeFailure::kNoCredentials);
    co_return nullptr;
  }
  HandshakeFailure reason = HandshakeFailure::kProtocol;
  deadline.arm_until(upstream->socket, limit.expiry);
  const bool handshaken = co_await upstream->socket.handshake(reason);
  deadline.disarm();
  if (!handshaken) {
    refuse(reason);
    co_return nullptr;
  }
  if (const auto wrong = check_server_identity(upstream->socket.ssl(), tls.identity)) {
    refuse(*wrong);
    co_return nullptr;
  }
  upstream->identity = tls.identity;
  if (tls.metrics != nullptr) tls.metrics->count_connection(Direction::kOutbound, identity);
  co_return upstream;
}

}  // namespace weft::proxy
