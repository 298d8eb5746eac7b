#pragma once

// A coroutine run beside the one that started it, on the same executor, that
// uses what its parent owns (members, sockets, locals): the HTTP/1 request
// body pump, the tunnel's second direction. The parent's frame must not go
// while the child runs, however the parent leaves, an exception included (an
// allocation failure): the child would resume into freed memory. So the
// parent stops and joins it on every path; a handler cannot co_await, so:
//
//   ChildTask child(executor);
//   child.spawn(work());
//   std::exception_ptr error;
//   try {
//     co_await own_work();
//   } catch (...) {
//     error = std::current_exception();
//     stop();  // close or cancel what the child waits on
//   }
//   co_await child.join();
//   if (error) std::rethrow_exception(error);
//
// (A try block costs nothing when nothing throws.) A frame destroyed while
// suspended, by the io_context's shutdown, needs none of this: the child is
// destroyed with it and never resumes.

#include <exception>
#include <utility>

#include "proxy/core/asio.h"

namespace weft::proxy {

class ChildTask {
 public:
  explicit ChildTask(const Executor& executor) : done_(executor) {}
  // Going while the child runs would let it resume into freed memory; on a
  // running event loop that can only follow a failed join (an allocation
  // failure while joining), and a crash is better than corrupt memory. A
  // stopped loop destroys its coroutines without resuming them: no danger.
  ~ChildTask() {
    if (running_ && !done_.get_executor().context().stopped()) std::terminate();
  }
  ChildTask(const ChildTask&) = delete;
  ChildTask& operator=(const ChildTask&) = delete;

  bool running() const { return running_; }

  // Starts `task` (from the event loop's next turn). One child at a time.
  // Throws (std::bad_alloc) when the child cannot be started; nothing then
  // runs, and join() returns at once.
  void spawn(awaitable<void> task) {
    asio::co_spawn(done_.get_executor(), std::move(task), [this](std::exception_ptr error) {
      running_ = false;
      error_ = std::move(error);
      done_.cancel();  // wakes join()
    });
    // Only now: the child starts on the loop's next turn, never inside co_spawn.
    running_ = true;
  }

  // Returns once the child has ended (at once when none runs), rethrowing
  // what it threw. It does not stop the child: the caller knows how.
  awaitable<void> join() {
    while (running_) {
      done_.expires_at(Timer::time_point::max());
      error_code ignored;
      co_await done_.async_wait(redirect(ignored));
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  Timer done_;  // never expires: the child's end cancels it
  bool running_ = false;
  std::exception_ptr error_;
};

}  // namespace weft::proxy
