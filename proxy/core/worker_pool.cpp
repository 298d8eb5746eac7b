#include "proxy/core/worker_pool.h"

namespace weft::proxy {

WorkerPool::WorkerPool(std::size_t workers) {
  for (std::size_t i = 0; i < workers; ++i) {
    // Each context is run by exactly one thread, and its sockets and timers
    // are used only by that thread (or before it starts): Asio can skip the
    // lock it takes around every socket operation. Its scheduler keeps its
    // lock, since other threads post to it (drain, listener close, stop).
    contexts_.push_back(std::make_unique<Context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::start() {
  for (auto& context : contexts_) {
    threads_.emplace_back([&io = *context] { io.run(); });
  }
}

void WorkerPool::stop() {
  for (auto& context : contexts_) context->stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  // (A second shutdown, by the context's destructor, finds nothing left.)
  for (auto& context : contexts_) context->shutdown();
}

}  // namespace weft::proxy
