#include "proxy/core/worker_pool.h"

namespace weft::proxy {

WorkerPool::WorkerPool(std::size_t workers) {
  for (std::size_t i = 0; i < workers; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio
    // can skip its internal locking.
    contexts_.push_back(std::make_unique<asio::io_context>(1));
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
}

}  // namespace weft::proxy
