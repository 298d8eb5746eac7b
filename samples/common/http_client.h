#pragma once

// A plain HTTP/1.1 client for one URL, used by the sample app for its
// downstream calls and by weft-load. It keeps finished keep-alive connections
// for reuse (a meshed app talks through its outbound proxy, and reusing
// connections is what real clients do), bounds each call by a deadline, and
// reports every failure as a value: it never throws.
//
// A plain Service name that DNS cannot resolve is looked up in the Kubernetes
// Service environment variables (service_env.h).
//
// One client belongs to one single-threaded io_context; it is not thread-safe.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "samples/common/asio.h"
#include "samples/common/service_env.h"
#include "samples/common/url.h"

namespace weft::samples {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// How a call ended when no response came back.
enum class CallFailure { kNone, kResolve, kConnect, kTimeout, kIo };

// "resolve", "connect", "timeout", "io" ("" for kNone).
std::string_view to_string(CallFailure failure);

struct CallResult {
  std::optional<int> status;  // set when a response was read
  std::string body;
  CallFailure failure = CallFailure::kNone;
  std::string error;  // the system's message when failure != kNone
  std::chrono::steady_clock::duration latency{};
};

class HttpClient {
 public:
  // max_idle: how many idle connections are kept for reuse. env: where Service
  // variables are read (the process environment by default).
  HttpClient(asio::any_io_executor executor, HttpUrl url, std::size_t max_idle,
             EnvLookup env = process_environment());
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const HttpUrl& url() const { return url_; }

  // GET url().target with the given extra headers, within timeout (from the
  // start of the call to the end of the response body).
  awaitable<CallResult> get(std::chrono::milliseconds timeout, const HeaderList& headers);

  // Connections opened so far (for tests of connection reuse).
  std::size_t connections_opened() const { return connections_opened_; }

 private:
  struct Attempt;
  awaitable<Attempt> attempt(beast::tcp_stream& stream, const http::request<http::empty_body>& req);
  awaitable<std::unique_ptr<beast::tcp_stream>> connect(
      std::chrono::steady_clock::time_point deadline, CallResult& result);

  asio::any_io_executor executor_;
  HttpUrl url_;
  std::size_t max_idle_;
  EnvLookup env_;
  std::vector<std::unique_ptr<beast::tcp_stream>> idle_;
  std::size_t connections_opened_ = 0;
};

}  // namespace weft::samples
