#pragma once

// A wake-up for one waiting coroutine on the connection's worker (no lock):
// notify() wakes the wait under way, or the next one if none is. A wait may
// also end at a point in time (a housekeeping tick). The HTTP/2 codec's
// writer waits on one for frames to send, a stream's try for its response.

#include <chrono>

#include "proxy/core/asio.h"

namespace weft::proxy::http2 {

class Signal {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Signal(const Executor& executor) : timer_(executor) {}
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  void notify() {
    pending_ = true;
    if (waiting_) timer_.cancel();
  }

  // Returns once notified since the last wait returned, or at `until`.
  awaitable<void> wait(Clock::time_point until = Clock::time_point::max()) {
    if (!pending_) {
      waiting_ = true;
      timer_.expires_at(until);
      error_code ignored;
      co_await timer_.async_wait(redirect(ignored));
      waiting_ = false;
    }
    pending_ = false;
  }

 private:
  Timer timer_;
  bool waiting_ = false;
  bool pending_ = false;
};

}  // namespace weft::proxy::http2
