#pragma once

// A fixed number of worker threads, each running its own io_context: a
// connection lives on one worker from accept to close, so its state needs no
// locks. No thread per connection.

#include <memory>
#include <thread>
#include <vector>

#include "proxy/core/asio.h"

namespace weft::proxy {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t workers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const { return contexts_.size(); }
  asio::io_context& context(std::size_t worker) { return *contexts_[worker]; }

  void start();
  // Stops every event loop (pending work is abandoned) and joins the threads.
  void stop();

 private:
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace weft::proxy
