#pragma once

// What an accepted client connection counts while it is open: the proxy-wide
// open-connection count that a graceful shutdown waits on, and the tcp_*
// metrics of its target. Released by the destructor, so a session that ends
// by an exception (or a coroutine destroyed mid-way) is still counted as
// closed and shutdown does not wait its whole grace period for it.

#include <atomic>
#include <cstdint>

#include "proxy/metrics.h"

namespace weft::proxy {

class ConnectionAccounting {
 public:
  ConnectionAccounting(std::atomic<std::int64_t>& open_connections, TcpMetrics& metrics)
      : open_connections_(open_connections), metrics_(metrics) {
    metrics_.open_total.inc();
    metrics_.open_connections.inc();
    open_connections_.fetch_add(1, std::memory_order_relaxed);
  }
  ~ConnectionAccounting() {
    metrics_.read_bytes.inc(bytes_read);
    metrics_.write_bytes.inc(bytes_written);
    metrics_.close_total.inc();
    metrics_.open_connections.dec();
    open_connections_.fetch_sub(1, std::memory_order_relaxed);
  }
  ConnectionAccounting(const ConnectionAccounting&) = delete;
  ConnectionAccounting& operator=(const ConnectionAccounting&) = delete;

  // Bytes read from and written to the client, added to the metrics at close.
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;

 private:
  std::atomic<std::int64_t>& open_connections_;
  TcpMetrics& metrics_;
};

}  // namespace weft::proxy
