#include "proxy/core/listener.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <limits>

namespace weft::proxy {
namespace {

// Closed with a reset (SO_LINGER 0): no FIN handshake or TIME_WAIT left
// behind, and the client knows at once it was refused.
void reset(Socket& socket) {
  error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

awaitable<void> accept_loop(Acceptor& acceptor, const Listener::SlotHandler& handler,
                            const Listener::Cap& cap,
                            const std::shared_ptr<std::atomic<std::size_t>>& open,
                            std::size_t worker) {
  Timer pause(acceptor.get_executor());
  while (acceptor.is_open()) {
    error_code ec;
    Socket socket = co_await acceptor.async_accept(redirect(ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or memory: back off instead of spinning.
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(redirect(ec));
      continue;
    }
    if (open->fetch_add(1, std::memory_order_relaxed) >= cap.max_connections) {
      open->fetch_sub(1, std::memory_order_relaxed);
      if (cap.on_refused) cap.on_refused();  // (counted before the client can see it)
      reset(socket);
      continue;
    }
    ConnectionSlot slot(open);
    socket.set_option(tcp::no_delay(true), ec);
    handler(std::move(socket), worker, std::move(slot));
  }
}

}  // namespace

Result<std::unique_ptr<Listener>> Listener::bind(WorkerPool& pool, const std::string& address,
                                                 std::uint16_t port, std::string name) {
  error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return Error{name + ": invalid listen address '" + address + "'"};
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::uint16_t bound_port = port;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    auto acceptor = std::make_unique<Acceptor>(pool.context(i));
    const tcp::endpoint endpoint(ip, bound_port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(Acceptor::reuse_address(true), ec);
    if (!ec) {
      const int on = 1;
      if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
        ec = error_code(errno, boost::system::system_category());
      }
    }
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error{name + ": cannot listen on " + address + ":" + std::to_string(bound_port) +
                   ": " + ec.message()};
    }
    bound_port = acceptor->local_endpoint().port();
    acceptors.push_back(std::move(acceptor));
  }
  return std::unique_ptr<Listener>(new Listener(std::move(acceptors), bound_port, std::move(name)));
}

void Listener::start(Handler handler) {
  start([handler = std::move(handler)](Socket socket, std::size_t worker,
                                       ConnectionSlot) { handler(std::move(socket), worker); },
        {.max_connections = std::numeric_limits<std::size_t>::max(), .on_refused = {}});
}

void Listener::start(SlotHandler handler, Cap cap) {
  handler_ = std::move(handler);
  cap_ = std::move(cap);
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(acceptors_[i]->get_executor(),
                   accept_loop(*acceptors_[i], handler_, cap_, open_, i), asio::detached);
  }
}

void Listener::close() {
  for (auto& acceptor : acceptors_) {
    asio::post(acceptor->get_executor(), [&a = *acceptor] {
      error_code ignored;
      a.close(ignored);
    });
  }
}

}  // namespace weft::proxy
