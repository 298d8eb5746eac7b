#pragma once

// Cancels a socket's pending operations when a time limit passes, so a
// coroutine awaiting a read or write wakes with operation_aborted. One per
// connection, re-armed per phase (head, request, try).
//
// Lazy: arming only records the expiry. The timer is re-armed only when the
// new expiry is earlier than the one it waits for; when it fires early (the
// expiry moved later, or the deadline was disarmed) it simply waits again.
// So a keep-alive connection moving between the same phases costs no timer
// system call per request. The timer and its state are shared with the
// pending handler, so a timer that fires as the connection ends touches
// nothing destroyed.

#include <chrono>
#include <concepts>
#include <memory>

#include "proxy/core/asio.h"

namespace weft::proxy {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(const Executor& executor) : state_(std::make_shared<State>(executor)) {}
  ~Deadline() {
    state_->target = nullptr;
    state_->expiry = Clock::time_point::max();
    state_->timer.cancel();  // for a timer this cannot fail
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // After `limit`, cancels every pending operation on `socket`. The socket
  // must outlive the arming: disarm() (or arm another) before destroying it.
  void arm(Socket& socket, Clock::duration limit) { arm_until(socket, Clock::now() + limit); }
  // A stream over a socket (proxy/tls/stream.h): its socket's operations.
  template <typename S>
  requires requires(S& s) {
    { s.lowest_layer() } -> std::same_as<Socket&>;
  }
  void arm(S& stream, Clock::duration limit) { arm(stream.lowest_layer(), limit); }
  template <typename S>
  requires requires(S& s) {
    { s.lowest_layer() } -> std::same_as<Socket&>;
  }
  void arm_until(S& stream, Clock::time_point expiry) { arm_until(stream.lowest_layer(), expiry); }
  // The same at a point in time (no clock read).
  void arm_until(Socket& socket, Clock::time_point expiry) {
    state_->target = &socket;
    state_->expired = false;
    state_->expiry = expiry;
    if (!state_->waiting || state_->expiry < state_->timer.expiry()) wait(state_);
  }
  void disarm() {
    state_->expiry = Clock::time_point::max();
    state_->target = nullptr;
  }
  // True when the last arm() fired: the operation failed because of the limit.
  bool expired() const { return state_->expired; }

 private:
  struct State {
    explicit State(const Executor& executor) : timer(executor) {}
    Timer timer;
    Socket* target = nullptr;
    Clock::time_point expiry = Clock::time_point::max();
    bool waiting = false;
    bool expired = false;
    std::uint64_t wait_id = 0;  // the current wait; a replaced one's handler does nothing
  };

  static void wait(const std::shared_ptr<State>& state) {
    state->waiting = true;
    const std::uint64_t id = ++state->wait_id;
    state->timer.expires_at(state->expiry);  // cancels a wait it replaces
    state->timer.async_wait([state, id](const error_code& ec) {
      if (id != state->wait_id) return;  // replaced by a later wait
      state->waiting = false;
      if (ec == asio::error::operation_aborted && state->target == nullptr) return;
      if (state->expiry == Clock::time_point::max()) return;  // disarmed: sleep
      if (Clock::now() < state->expiry) {
        wait(state);  // re-armed later (or this wait was replaced): wait again
        return;
      }
      state->expired = true;
      state->expiry = Clock::time_point::max();
      if (state->target != nullptr) {
        error_code ignored;
        state->target->cancel(ignored);
      }
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace weft::proxy
