#pragma once

// Listening sockets: one per worker on the same address with SO_REUSEPORT, so
// the kernel spreads connections over the workers without a shared accept
// queue or cross-thread handoff.

#include <functional>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/core/worker_pool.h"
#include "weft/result.h"

namespace weft::proxy {

class Listener {
 public:
  using Handler = std::function<void(Socket, std::size_t worker)>;

  // Binds and listens on every worker (port 0: one ephemeral port shared by
  // all). Fails with a message naming the address, before anything is accepted.
  static Result<std::unique_ptr<Listener>> bind(WorkerPool& pool, const std::string& address,
                                                std::uint16_t port, std::string name);

  std::uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }
  // Starts accepting; handler runs on the accepting worker's thread.
  void start(Handler handler);
  // Stops accepting (posted to each worker); connections already accepted go on.
  void close();

 private:
  Listener(std::vector<std::unique_ptr<Acceptor>> acceptors, std::uint16_t port, std::string name)
      : acceptors_(std::move(acceptors)), port_(port), name_(std::move(name)) {}

  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::uint16_t port_;
  std::string name_;
  Handler handler_;
};

}  // namespace weft::proxy
