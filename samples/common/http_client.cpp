#include "samples/common/http_client.h"

#include <boost/asio/connect.hpp>

#include "samples/common/service_env.h"

namespace weft::samples {

namespace {

// Responses are small JSON documents; anything larger is cut off as an error.
constexpr std::size_t kMaxResponseBodyBytes = 1024 * 1024;

// A kept-alive connection the server has closed meanwhile fails with one of
// these before any byte of the response: the request was never processed, so
// it is sent again once on a new connection.
bool closed_while_idle(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

}  // namespace

std::string_view to_string(CallFailure failure) {
  switch (failure) {
    case CallFailure::kNone:
      return "";
    case CallFailure::kResolve:
      return "resolve";
    case CallFailure::kConnect:
      return "connect";
    case CallFailure::kTimeout:
      return "timeout";
    case CallFailure::kIo:
      return "io";
  }
  return "io";
}

struct HttpClient::Attempt {
  error_code ec;
  http::response<http::string_body> response;
};

HttpClient::HttpClient(asio::any_io_executor executor, HttpUrl url, std::size_t max_idle,
                       EnvLookup env)
    : executor_(std::move(executor)),
      url_(std::move(url)),
      max_idle_(max_idle),
      env_(std::move(env)) {}

HttpClient::~HttpClient() = default;

awaitable<std::unique_ptr<beast::tcp_stream>> HttpClient::connect(
    std::chrono::steady_clock::time_point deadline, CallResult& result) {
  error_code ec;
  tcp::resolver resolver(executor_);
  const std::string port = std::to_string(url_.port);
  auto endpoints = co_await resolver.async_resolve(url_.host, port, redirect(ec));
  if (ec) {
    if (auto service_host = service_host_from_env(url_.host, env_)) {
      endpoints = co_await resolver.async_resolve(*service_host, port, redirect(ec));
    }
  }
  if (ec) {
    result.failure = CallFailure::kResolve;
    result.error = ec.message();
    co_return nullptr;
  }
  auto stream = std::make_unique<beast::tcp_stream>(executor_);
  stream->expires_at(deadline);
  co_await stream->async_connect(endpoints, redirect(ec));
  if (ec) {
    result.failure = ec == beast::error::timeout ? CallFailure::kTimeout : CallFailure::kConnect;
    result.error = ec.message();
    co_return nullptr;
  }
  ++connections_opened_;
  stream->socket().set_option(tcp::no_delay(true), ec);
  co_return stream;
}

awaitable<HttpClient::Attempt> HttpClient::attempt(beast::tcp_stream& stream,
                                                   const http::request<http::empty_body>& req) {
  Attempt attempt;
  co_await http::async_write(stream, req, redirect(attempt.ec));
  if (attempt.ec) co_return attempt;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBodyBytes);
  co_await http::async_read(stream, buffer, parser, redirect(attempt.ec));
  if (!attempt.ec) attempt.response = parser.release();
  co_return attempt;
}

awaitable<CallResult> HttpClient::get(std::chrono::milliseconds timeout,
                                      const HeaderList& headers) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  CallResult result;

  http::request<http::empty_body> req{http::verb::get, url_.target, 11};
  req.set(http::field::host, url_.host_header);
  req.set(http::field::user_agent, "weft-samples");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.keep_alive(true);

  std::unique_ptr<beast::tcp_stream> stream;
  bool reused = false;
  if (!idle_.empty()) {
    stream = std::move(idle_.back());
    idle_.pop_back();
    reused = true;
  } else {
    stream = co_await connect(deadline, result);
  }

  Attempt outcome;
  while (stream) {
    stream->expires_at(deadline);
    outcome = co_await attempt(*stream, req);
    if (!(outcome.ec && reused && closed_while_idle(outcome.ec))) break;
    reused = false;  // the one retry goes over a fresh connection
    stream = co_await connect(deadline, result);
  }

  result.latency = std::chrono::steady_clock::now() - start;
  if (!stream) co_return result;  // connect or resolve failed; result says why
  if (outcome.ec) {
    result.failure = outcome.ec == beast::error::timeout ? CallFailure::kTimeout : CallFailure::kIo;
    result.error = outcome.ec.message();
    co_return result;  // the connection is dropped
  }
  result.status = outcome.response.result_int();
  const bool keep_alive = outcome.response.keep_alive();
  result.body = std::move(outcome.response.body());
  if (keep_alive && idle_.size() < max_idle_) {
    stream->expires_never();
    idle_.push_back(std::move(stream));
  }
  co_return result;
}

}  // namespace weft::samples
