#include "proxy/tcp/tunnel.h"

#include <algorithm>
#include <array>
#include <exception>

#include "proxy/core/child_task.h"

namespace weft::proxy {
namespace {

using Clock = std::chrono::steady_clock;

void close_both(Socket& from, Socket& to) {
  error_code ignored;
  from.close(ignored);
  to.close(ignored);
}

// When bytes last moved, either way; the watch closes the tunnel once
// `limit` passed since.
struct Activity {
  Clock::time_point last = Clock::now();
  bool ended = false;    // both directions done: the watch stops
  bool expired = false;  // the watch closed the tunnel
};

awaitable<void> copy(Socket& from, Socket& to, std::string_view pending, std::uint64_t& bytes,
                     Activity& activity) {
  error_code ec;
  if (!pending.empty()) {
    co_await asio::async_write(to, asio::buffer(pending), redirect(ec));
    if (ec) {
      close_both(from, to);
      co_return;
    }
    bytes += pending.size();
    activity.last = Clock::now();
  }
  std::array<char, 16 * 1024> buffer;
  while (true) {
    const std::size_t n = co_await from.async_read_some(asio::buffer(buffer), redirect(ec));
    if (ec == asio::error::eof) {
      to.shutdown(Socket::shutdown_send, ec);
      co_return;
    }
    if (ec) {
      close_both(from, to);
      co_return;
    }
    activity.last = Clock::now();
    co_await asio::async_write(to, asio::buffer(buffer.data(), n), redirect(ec));
    if (ec) {
      close_both(from, to);
      co_return;
    }
    activity.last = Clock::now();
    bytes += n;
  }
}

// One timer for the tunnel's life, re-armed only when it fires: activity
// costs a clock read, no timer update.
awaitable<void> watch(Timer& timer, Clock::duration limit, Activity& activity, Socket& a,
                      Socket& b) {
  while (!activity.ended) {
    timer.expires_at(activity.last + limit);
    error_code ignored;
    co_await timer.async_wait(redirect(ignored));
    if (activity.ended) co_return;
    if (Clock::now() >= activity.last + limit) {
      activity.expired = true;
      close_both(a, b);  // ends both directions, whatever they wait on
      co_return;
    }
  }
}

}  // namespace

awaitable<TunnelBytes> tunnel(Socket& a, std::string_view a_pending, Socket& b,
                              std::string_view b_pending, TunnelIdle idle) {
  TunnelBytes bytes;
  Activity activity;
  // (Bounded, so that adding it to a time point cannot overflow.)
  const Clock::duration limit =
      std::min<Clock::duration>(idle.limit, std::chrono::hours(24 * 365 * 10));
  // The second direction and the idle watch run as their own coroutines, on
  // the two sockets and this frame's members: joined before this frame
  // goes, however it goes.
  Timer timer(a.get_executor());
  ChildTask watcher(a.get_executor());
  ChildTask b_to_a(a.get_executor());
  std::exception_ptr error;
  try {
    watcher.spawn(watch(timer, limit, activity, a, b));
    b_to_a.spawn(copy(b, a, b_pending, bytes.b_to_a, activity));
    co_await copy(a, b, a_pending, bytes.a_to_b, activity);
  } catch (...) {
    error = std::current_exception();
    close_both(a, b);  // ends the other direction's read or write
  }
  std::exception_ptr child_error;
  try {
    co_await b_to_a.join();
  } catch (...) {
    child_error = std::current_exception();
  }
  activity.ended = true;
  timer.cancel();
  co_await watcher.join();
  if (error) std::rethrow_exception(error);
  if (child_error) std::rethrow_exception(child_error);
  close_both(a, b);
  if (activity.expired && idle.closed != nullptr) idle.closed->inc();
  co_return bytes;
}

}  // namespace weft::proxy
