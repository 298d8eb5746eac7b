#include "proxy/tcp/tunnel.h"

#include <array>

namespace weft::proxy {
namespace {

void close_both(Socket& from, Socket& to) {
  error_code ignored;
  from.close(ignored);
  to.close(ignored);
}

awaitable<void> copy(Socket& from, Socket& to, std::string_view pending, std::uint64_t& bytes) {
  error_code ec;
  if (!pending.empty()) {
    co_await asio::async_write(to, asio::buffer(pending), redirect(ec));
    if (ec) {
      close_both(from, to);
      co_return;
    }
    bytes += pending.size();
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
    co_await asio::async_write(to, asio::buffer(buffer.data(), n), redirect(ec));
    if (ec) {
      close_both(from, to);
      co_return;
    }
    bytes += n;
  }
}

}  // namespace

awaitable<TunnelBytes> tunnel(Socket& a, std::string_view a_pending, Socket& b,
                              std::string_view b_pending) {
  TunnelBytes bytes;
  // The second direction runs as its own coroutine; this one waits for it on
  // a timer that its completion cancels.
  struct Join {
    explicit Join(const Executor& ex) : done(ex) {}
    Timer done;
    bool finished = false;
  } join(a.get_executor());
  asio::co_spawn(a.get_executor(), copy(b, a, b_pending, bytes.b_to_a),
                 [&join](std::exception_ptr) {
                   join.finished = true;
                   join.done.cancel();
                 });
  co_await copy(a, b, a_pending, bytes.a_to_b);
  if (!join.finished) {
    join.done.expires_at(Timer::time_point::max());
    error_code ec;
    co_await join.done.async_wait(redirect(ec));
  }
  error_code ignored;
  a.close(ignored);
  b.close(ignored);
  co_return bytes;
}

}  // namespace weft::proxy
