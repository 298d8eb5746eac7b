#include "proxy/tcp/tunnel.h"

#include <algorithm>
#include <exception>
#include <memory>

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
  bool moved = false;    // a byte moved, either way: the silent limit is off
  bool ended = false;    // both directions done: the watch stops
  bool expired = false;  // the watch closed the tunnel for idleness
  bool silent = false;   // the watch closed it before any byte moved
};

constexpr std::size_t kBufferSize = 16 * 1024;

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
    activity.moved = true;
  }
  // Non-blocking reads: one that finds nothing gives the buffer back and
  // waits for readability without it.
  from.non_blocking(true, ec);
  if (ec) {
    close_both(from, to);
    co_return;
  }
  std::unique_ptr<char[]> buffer;
  while (true) {
    if (!buffer) buffer = std::make_unique_for_overwrite<char[]>(kBufferSize);
    const std::size_t n = from.read_some(asio::buffer(buffer.get(), kBufferSize), ec);
    if (ec == asio::error::would_block) {
      buffer.reset();
      co_await from.async_wait(Socket::wait_read, redirect(ec));
      if (ec) {
        close_both(from, to);
        co_return;
      }
      continue;
    }
    if (ec == asio::error::eof) {
      to.shutdown(Socket::shutdown_send, ec);
      co_return;
    }
    if (ec) {
      close_both(from, to);
      co_return;
    }
    activity.last = Clock::now();
    activity.moved = true;
    co_await asio::async_write(to, asio::buffer(buffer.get(), n), redirect(ec));
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
awaitable<void> watch(Timer& timer, Clock::duration limit, Clock::time_point silent_until,
                      Activity& activity, Socket& a, Socket& b) {
  while (!activity.ended) {
    const auto expiry = [&] {
      const Clock::time_point idle = activity.last + limit;
      return activity.moved ? idle : std::min(idle, silent_until);
    };
    timer.expires_at(expiry());
    error_code ignored;
    co_await timer.async_wait(redirect(ignored));
    if (activity.ended) co_return;
    const Clock::time_point now = Clock::now();
    if (now >= expiry()) {
      (activity.moved || now < silent_until ? activity.expired : activity.silent) = true;
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
    watcher.spawn(watch(timer, limit, idle.silent_until, activity, a, b));
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
  if (activity.silent && idle.silent_closed != nullptr) idle.silent_closed->inc();
  co_return bytes;
}

}  // namespace weft::proxy
