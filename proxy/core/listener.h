#pragma once

// Listening sockets: one per worker on the same address with SO_REUSEPORT, so
// the kernel spreads connections over the workers without a shared accept
// queue or cross-thread handoff.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/core/worker_pool.h"
#include "weft/result.h"

namespace weft::proxy {

// An accepted connection's place under its listener's cap, held for the
// connection's life and given back when destroyed (however the connection
// ends). Shared with the listener's count, which may outlive either.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(std::shared_ptr<std::atomic<std::size_t>> open)
      : open_(std::move(open)) {}
  ~ConnectionSlot() {
    if (open_) open_->fetch_sub(1, std::memory_order_relaxed);
  }
  ConnectionSlot(ConnectionSlot&&) = default;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  std::shared_ptr<std::atomic<std::size_t>> open_;
};

class Listener {
 public:
  using Handler = std::function<void(Socket, std::size_t worker)>;
  using SlotHandler = std::function<void(Socket, std::size_t worker, ConnectionSlot)>;
  // At most max_connections open at once (across workers); beyond, a new
  // connection is accepted and reset at once (the client sees a refusal at
  // once rather than a wait in the kernel's backlog), and on_refused runs.
  struct Cap {
    std::size_t max_connections = 0;
    std::function<void()> on_refused;
  };

  // Binds and listens on every worker (port 0: one ephemeral port shared by
  // all). Fails with a message naming the address, before anything is accepted.
  static Result<std::unique_ptr<Listener>> bind(WorkerPool& pool, const std::string& address,
                                                std::uint16_t port, std::string name);

  std::uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }
  // Starts accepting; handler runs on the accepting worker's thread.
  void start(Handler handler);
  // The same with a cap on connections open at once; each handled
  // connection holds its slot until it ends.
  void start(SlotHandler handler, Cap cap);
  std::size_t open_connections() const { return open_->load(std::memory_order_relaxed); }
  // Stops accepting (posted to each worker); connections already accepted go on.
  void close();

 private:
  Listener(std::vector<std::unique_ptr<Acceptor>> acceptors, std::uint16_t port, std::string name)
      : acceptors_(std::move(acceptors)), port_(port), name_(std::move(name)) {}

  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::uint16_t port_;
  std::string name_;
  SlotHandler handler_;
  Cap cap_;
  std::shared_ptr<std::atomic<std::size_t>> open_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace weft::proxy
