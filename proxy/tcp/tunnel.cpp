#include "proxy/tcp/tunnel.h"

#include <algorithm>
#include <exception>
#include <memory>

#include "proxy/core/child_task.h"

namespace weft::proxy {
namespace {

using Clock = std::chrono::steady_clock;

void shutdown_send(Socket& socket, error_code& ec) {
  socket.shutdown(Socket::shutdown_send, ec);
}
void shutdown_send(Stream& stream, error_code& ec) {
  stream.shutdown_send(ec);
}

template <typename S>
void close_both(S& from, S& to) {
  error_code ignored;
  from.close(ignored);
  to.close(ignored);
}

// When bytes last moved, either way; the watch closes the tunnel once
// `limit` passed since (or the half-closed limit, once a direction ended).
struct Activity {
  explicit Activity(Timer& watch_timer) : timer(watch_timer) {}
  Timer& timer;  // the watch's: cancelled to make it see a half-close at once
  Clock::time_point last = Clock::now();
  // A byte moved from a to b, from b to a: the silent limit is off once both
  // did (one side speaking to a peer that never answers is no conversation).
  bool a_spoke = false;
  bool b_spoke = false;
  bool half_closed = false;  // one direction ended: the half-closed limit applies
  bool ended = false;        // both directions done: the watch stops
  enum class Cut { kNone, kIdle, kSilent, kHalfClosed, kRevoked } cut = Cut::kNone;

  bool both_spoke() const { return a_spoke && b_spoke; }
};

constexpr std::size_t kBufferSize = 16 * 1024;

// `spoke`: set once a byte of this direction moved.
template <typename S>
awaitable<void> copy(S& from, S& to, std::string_view pending, std::uint64_t& bytes,
                     Activity& activity, bool& spoke) {
  error_code ec;
  if (!pending.empty()) {
    co_await asio::async_write(to, asio::buffer(pending), redirect(ec));
    if (ec) {
      close_both(from, to);
      co_return;
    }
    bytes += pending.size();
    activity.last = Clock::now();
    spoke = true;
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
      shutdown_send(to, ec);
      activity.last = Clock::now();
      activity.half_closed = true;
      activity.timer.cancel();  // the watch re-arms with the half-closed limit
      co_return;
    }
    if (ec) {
      close_both(from, to);
      co_return;
    }
    activity.last = Clock::now();
    spoke = true;
    co_await asio::async_write(to, asio::buffer(buffer.get(), n), redirect(ec));
    if (ec) {
      close_both(from, to);
      co_return;
    }
    activity.last = Clock::now();
    bytes += n;
  }
}

// The tunnel's limits: durations from its last activity, and the silent
// limit's point in time.
struct Limits {
  Clock::duration idle;
  Clock::duration half_closed;
  Clock::time_point silent_until;
  TunnelRecheck* recheck;
  Clock::duration recheck_interval;
};

// Which limit, if any, has passed at `now` (the silent one first: it is
// counted apart, as a connection that never held a conversation).
Activity::Cut passed(const Activity& activity, const Limits& limits, Clock::time_point now) {
  if (!activity.both_spoke() && now >= limits.silent_until) return Activity::Cut::kSilent;
  if (activity.half_closed && now >= activity.last + limits.half_closed) {
    return Activity::Cut::kHalfClosed;
  }
  if (now >= activity.last + limits.idle) return Activity::Cut::kIdle;
  return Activity::Cut::kNone;
}

Clock::time_point next_expiry(const Activity& activity, const Limits& limits) {
  Clock::time_point expiry = activity.last + limits.idle;
  if (activity.half_closed) expiry = std::min(expiry, activity.last + limits.half_closed);
  if (!activity.both_spoke()) expiry = std::min(expiry, limits.silent_until);
  return expiry;
}

// Counts the limit that cut the tunnel, before its sockets close: whoever sees
// the close sees the count.
void count_cut(Activity::Cut cut, const TunnelIdle& idle) {
  Counter* counted = nullptr;
  switch (cut) {
    case Activity::Cut::kIdle:
      counted = idle.closed;
      break;
    case Activity::Cut::kSilent:
      counted = idle.silent_closed;
      break;
    case Activity::Cut::kHalfClosed:
      counted = idle.half_closed;
      break;
    case Activity::Cut::kNone:
    case Activity::Cut::kRevoked:  // (counted by the recheck)
      break;
  }
  if (counted != nullptr) counted->inc();
}

// One timer for the tunnel's life, re-armed only when it fires (or a
// direction ends): activity costs a clock read, no timer update.
template <typename S>
awaitable<void> watch(Limits limits, const TunnelIdle& idle, Activity& activity, S& a, S& b) {
  Clock::time_point next_recheck =
      limits.recheck != nullptr ? Clock::now() + limits.recheck_interval : Clock::time_point::max();
  while (!activity.ended) {
    activity.timer.expires_at(std::min(next_expiry(activity, limits), next_recheck));
    error_code ignored;
    co_await activity.timer.async_wait(redirect(ignored));
    if (activity.ended) co_return;
    const Clock::time_point now = Clock::now();
    if (now >= next_recheck) {
      next_recheck = now + limits.recheck_interval;
      if (!limits.recheck->still_allowed()) {
        activity.cut = Activity::Cut::kRevoked;
        close_both(a, b);
        co_return;
      }
    }
    activity.cut = passed(activity, limits, now);
    if (activity.cut != Activity::Cut::kNone) {
      count_cut(activity.cut, idle);
      close_both(a, b);  // ends both directions, whatever they wait on
      co_return;
    }
  }
}

template <typename S>
awaitable<TunnelBytes> run_tunnel(S& a, std::string_view a_pending, S& b,
                                  std::string_view b_pending, TunnelIdle idle) {
  TunnelBytes bytes;
  // (Bounded, so that adding them to a time point cannot overflow.)
  constexpr Clock::duration kLongest = std::chrono::hours(24 * 365 * 10);
  const Limits limits{.idle = std::min<Clock::duration>(idle.limit, kLongest),
                      .half_closed = std::min<Clock::duration>(idle.half_closed_limit, kLongest),
                      .silent_until = idle.silent_until,
                      .recheck = idle.recheck,
                      .recheck_interval = std::max<Clock::duration>(
                          std::min<Clock::duration>(idle.recheck_interval, kLongest),
                          std::chrono::milliseconds(1))};
  // The second direction and the idle watch run as their own coroutines, on
  // the two sockets and this frame's members: joined before this frame
  // goes, however it goes.
  Timer timer(a.get_executor());
  Activity activity(timer);
  ChildTask watcher(a.get_executor());
  ChildTask b_to_a(a.get_executor());
  std::exception_ptr error;
  try {
    watcher.spawn(watch(limits, idle, activity, a, b));
    b_to_a.spawn(copy(b, a, b_pending, bytes.b_to_a, activity, activity.b_spoke));
    co_await copy(a, b, a_pending, bytes.a_to_b, activity, activity.a_spoke);
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
  co_return bytes;
}

}  // namespace

awaitable<TunnelBytes> tunnel(Socket& a, std::string_view a_pending, Socket& b,
                              std::string_view b_pending, TunnelIdle idle) {
  return run_tunnel(a, a_pending, b, b_pending, idle);
}

awaitable<TunnelBytes> tunnel(Stream& a, std::string_view a_pending, Stream& b,
                              std::string_view b_pending, TunnelIdle idle) {
  return run_tunnel(a, a_pending, b, b_pending, idle);
}

}  // namespace weft::proxy
