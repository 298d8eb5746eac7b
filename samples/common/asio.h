#pragma once

// The Asio and Beast names the sample programs use, in one place. Network code
// uses only the error_code forms (redirect), so traffic never throws.

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
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace weft::samples {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using error_code = boost::system::error_code;

// `co_await op(..., redirect(ec))`: the result in ec instead of an exception.
inline auto redirect(error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

}  // namespace weft::samples
