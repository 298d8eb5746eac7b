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
  // Stops every event loop, joins the threads, then destroys the work left
  // pending: the handlers, and with them the frames of the coroutines still
  // suspended (connections cut at the end of the grace period), whose
  // destructors run here, on the calling thread. Call it while what those
  // coroutines use (the workers, the runtime) still exists. The contexts stay
  // until the pool is destroyed, so sockets closed after this call (pooled
  // connections, listeners) still have their io_context.
  void stop();

 private:
  // io_context's destructor destroys the pending handlers only after the
  // workers that own it are gone; execution_context::shutdown(), protected in
  // Asio (for derived contexts), does it earlier and leaves the services alive.
  class Context : public asio::io_context {
   public:
    using asio::execution_context::shutdown;
    using asio::io_context::io_context;
  };
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace weft::proxy
