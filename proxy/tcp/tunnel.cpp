#include "proxy/tcp/tunnel.h"

#include <array>
#include <exception>

#include "proxy/core/child_task.h"

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
  // The second direction runs as its own coroutine, on the two sockets and
  // this frame's `bytes`: joined before this frame goes, however it goes.
  ChildTask b_to_a(a.get_executor());
  b_to_a.spawn(copy(b, a, b_pending, bytes.b_to_a));
  std::exception_ptr error;
  try {
    co_await copy(a, b, a_pending, bytes.a_to_b);
  } catch (...) {
    error = std::current_exception();
    close_both(a, b);  // ends the other direction's read or write
  }
  co_await b_to_a.join();
  if (error) std::rethrow_exception(error);
  close_both(a, b);
  co_return bytes;
}

}  // namespace weft::proxy
