#pragma once

// Idle keep-alive connections to endpoints, per worker (no locks). A
// connection is returned only after a complete exchange; one found closed by
// the server while idle is dropped when taken.

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/core/read_buffer.h"

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

}  // namespace weft::proxy
