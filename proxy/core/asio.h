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

namespace weft::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using error_code = boost::system::error_code;

// `co_await op(..., redirect(ec))`: the result in ec instead of an exception.
inline auto redirect(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

}  // namespace weft::proxy
