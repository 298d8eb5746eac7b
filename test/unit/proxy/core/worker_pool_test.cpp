// WorkerPool::stop on a pool whose loop has coroutines still suspended (the
// connections a graceful shutdown cuts): their frames are destroyed by stop()
// itself, while the objects they use still exist, and not later by the
// pool's destructor; sockets destroyed after stop() still have their context.

#include "proxy/core/worker_pool.h"

#include <catch2/catch.hpp>

using namespace weft::proxy;
using namespace std::chrono_literals;

namespace {

// Stands for the worker state a connection's destructors touch.
struct Recorder {
  int destroyed = 0;
};

struct Touches {
  Recorder& recorder;
  ~Touches() { ++recorder.destroyed; }
};

awaitable<void> suspended_forever(Recorder& recorder, Socket& socket) {
  const Touches touches{recorder};
  char byte = 0;
  error_code ec;
  co_await socket.async_read_some(asio::buffer(&byte, 1), redirect(ec));  // never answered
}

}  // namespace

TEST_CASE("stop() destroys the coroutines left suspended, before the pool goes", "[worker_pool]") {
  WorkerPool pool(2);
  Recorder recorder;
  std::vector<std::unique_ptr<Socket>> sockets;
  std::vector<std::unique_ptr<Socket>> peers;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    Acceptor acceptor(pool.context(i), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peers.push_back(std::make_unique<Socket>(pool.context(i)));
    peers.back()->connect(acceptor.local_endpoint());
    sockets.push_back(std::make_unique<Socket>(acceptor.accept()));
    asio::co_spawn(pool.context(i), suspended_forever(recorder, *sockets.back()), asio::detached);
  }
  pool.start();
  std::this_thread::sleep_for(50ms);  // each coroutine reaches its read
  pool.stop();
  CHECK(recorder.destroyed == 2);
  // Closed after stop(), before the pool is destroyed: still a valid context.
  sockets.clear();
  peers.clear();
}
