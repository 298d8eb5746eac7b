#pragma once

// The Asio names the proxy uses, in one place. The data plane uses only the
// error_code forms (redirect_error), so no exception is thrown by traffic.

// awaitable.hpp uses std::exchange without including <utility> (Boost 1.74),
// so <utility> must come first.
// clang-format off
#include <utility>
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>

namespace weft::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Sockets, timers and coroutines name the io_context's own executor rather
// than the type-erased asio::any_io_executor: each completion then resumes
// its coroutine directly, without wrapping the handler in an allocated
// function object and calling through the erased executor (a few per cent of
// the proxy's CPU per request, measured by perf).
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
template <typename T>
using awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable;

// `co_await op(..., redirect(ec))`: the result in ec instead of an exception.
inline auto redirect(error_code& ec) {
  return asio::redirect_error(use_awaitable, ec);
}

}  // namespace weft::proxy
