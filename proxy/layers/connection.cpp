#include "proxy/layers/connection.h"

#include <sys/socket.h>

namespace weft::proxy {
namespace {

// An idle connection must have nothing to read: EOF means the server closed
// it, data means it broke the protocol. Either way it is not reusable.
bool still_open(Socket& socket) {
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const tcp::endpoint& endpoint) {
  const auto found = idle_.find(endpoint);
  if (found == idle_.end()) return nullptr;
  auto& connections = found->second;
  while (!connections.empty()) {
    std::unique_ptr<UpstreamConnection> connection = std::move(connections.back());
    connections.pop_back();
    // A connection idle for a moment is checked (one system call); one used
    // just now is taken as it is: a server closing it in between is handled
    // by the retry of a failed pooled connection.
    const bool recent =
        std::chrono::steady_clock::now() - connection->idle_since < std::chrono::milliseconds(500);
    if (recent || still_open(connection->socket)) {
      connection->reused = true;
      return connection;
    }
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConnection> connection) {
  auto& connections = idle_[connection->endpoint];
  if (connections.size() < max_idle_per_endpoint_ && connection->buffer.empty()) {
    connection->idle_since = std::chrono::steady_clock::now();
    connections.push_back(std::move(connection));
  }
}

awaitable<std::unique_ptr<UpstreamConnection>> connect_upstream(const Executor& executor,
                                                                const tcp::endpoint& endpoint,
                                                                Deadline& deadline,
                                                                const ConnectLimit& limit,
                                                                TryFailure& failure) {
  auto upstream = std::make_unique<UpstreamConnection>(executor);
  upstream->endpoint = endpoint;
  error_code ec;
  deadline.arm_until(upstream->socket, limit.expiry);
  co_await upstream->socket.async_connect(endpoint, redirect(ec));
  deadline.disarm();
  if (ec) {
    failure = limit.by_deadline && deadline.expired() ? TryFailure::kTimeout : TryFailure::kConnect;
    co_return nullptr;
  }
  upstream->socket.set_option(tcp::no_delay(true), ec);
  co_return upstream;
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t count = 0;
  for (const auto& [endpoint, connections] : idle_) count += connections.size();
  return count;
}

}  // namespace weft::proxy
