#pragma once

// The connection layer: the connection a try is sent on. Idle keep-alive
// connections to endpoints, per worker (no locks): a connection is returned
// only after a complete exchange; one found closed by the server while idle
// is dropped when taken. A new one is connected within a limit (the connect
// timeout cut at the request's deadline, from the timeouts layer). mTLS
// plugs in here: a new connection's handshake after connect, and the pool
// keyed by the peer identity as well as the address.

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/outcome.h"

namespace weft::proxy {

struct UpstreamConnection {
  explicit UpstreamConnection(const Executor& executor) : socket(executor) {}
  Socket socket;
  ReadBuffer buffer;
  tcp::endpoint endpoint;
  bool reused = false;  // came from the pool: the server may have closed it meanwhile
  std::chrono::steady_clock::time_point idle_since{};
};

class UpstreamPool {
 public:
  explicit UpstreamPool(std::size_t max_idle_per_endpoint = 64)
      : max_idle_per_endpoint_(max_idle_per_endpoint) {}

  std::unique_ptr<UpstreamConnection> take(const tcp::endpoint& endpoint);
  void put(std::unique_ptr<UpstreamConnection> connection);
  void clear() { idle_.clear(); }
  std::size_t idle_count() const;

 private:
  std::size_t max_idle_per_endpoint_;
  std::map<tcp::endpoint, std::vector<std::unique_ptr<UpstreamConnection>>> idle_;
};

// A new connection to `endpoint` (the caller looks in the pool first: a hit
// costs no coroutine frame). Null on failure, with `failure` kConnect, or
// kTimeout when the request's deadline stopped it. `deadline` is left
// disarmed.
awaitable<std::unique_ptr<UpstreamConnection>> connect_upstream(const Executor& executor,
                                                                const tcp::endpoint& endpoint,
                                                                Deadline& deadline,
                                                                const ConnectLimit& limit,
                                                                TryFailure& failure);

}  // namespace weft::proxy
