#include "samples/app/server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string_view>
#include <thread>

#include "samples/app/failure_rate.h"
#include "samples/app/reply.h"
#include "samples/common/asio.h"
#include "samples/common/http_client.h"

namespace weft::samples {

namespace {

// A keep-alive connection may wait this long for its next request.
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kWriteTimeout = std::chrono::seconds(10);
// The app reads no request body; a small limit keeps memory low.
constexpr std::size_t kMaxRequestBodyBytes = 64 * 1024;
// Per downstream and worker: enough for the concurrency of a demo.
constexpr std::size_t kMaxIdleDownstreamConnections = 16;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool busy = false;  // between a complete request and the end of its response
};

// Beast's parse errors (as opposed to a closed or timed-out connection).
bool is_malformed_request(const error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

Response make_response(const Request& request, int status, std::string body,
                       std::string_view content_type) {
  Response response{static_cast<http::status>(status), request.version()};
  response.set(http::field::content_type,
               beast::string_view(content_type.data(), content_type.size()));
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace

struct SampleServer::Worker {
  explicit Worker(std::uint64_t seed) : random(seed) {}

  // Declared before the io_context: destroying the io_context destroys pending
  // sessions, which unregister themselves from this set.
  std::set<Connection*> connections;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(ioc);
  // Declared after the io_context: their idle sockets close while it still exists.
  std::vector<std::unique_ptr<HttpClient>> downstreams;
  std::mt19937_64 random;
  bool draining = false;  // this worker's thread only, like the members above
  std::thread thread;
};

struct SampleServer::Acceptor {
  explicit Acceptor(asio::io_context& ioc) : acceptor(ioc) {}
  tcp::acceptor acceptor;
};

// The coroutines: accept loop, one session per connection, one answer per request.
struct Session {
  // Counts and lists a connection for as long as its session lives.
  struct Registration {
    Registration(SampleServer& server, SampleServer::Worker& worker, Connection& connection)
        : server(server), worker(worker), connection(connection) {
      worker.connections.insert(&connection);
    }
    ~Registration() {
      worker.connections.erase(&connection);
      server.open_connections_.fetch_sub(1);
    }
    SampleServer& server;
    SampleServer::Worker& worker;
    Connection& connection;
  };

  static awaitable<void> accept_loop(SampleServer& server) {
    auto& acceptor = server.acceptor_->acceptor;
    std::size_t next = 0;
    for (;;) {
      SampleServer::Worker& worker = *server.workers_[next++ % server.workers_.size()];
      error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(worker.ioc, redirect(ec));
      if (!acceptor.is_open()) co_return;
      if (ec) {  // e.g. out of file descriptors: wait a little rather than spin
        server.logger_.warn("accept failed", {{"error", ec.message()}});
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(redirect(ec));
        continue;
      }
      // Counted here, not in the session, so a shutdown never misses it.
      server.open_connections_.fetch_add(1);
      asio::co_spawn(worker.ioc, serve(server, worker, std::move(socket)), asio::detached);
    }
  }

  static awaitable<void> serve(SampleServer& server, SampleServer::Worker& worker,
                               tcp::socket socket) {
    Connection connection(std::move(socket));
    Registration registration(server, worker, connection);
    beast::flat_buffer buffer;
    error_code ec;
    while (!worker.draining) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxRequestBodyBytes);
      connection.stream.expires_after(kIdleTimeout);
      co_await http::async_read(connection.stream, buffer, parser, redirect(ec));
      if (ec) {
        if (is_malformed_request(ec)) {
          Response bad{http::status::bad_request, 11};
          bad.set(http::field::content_type, "text/plain; charset=utf-8");
          bad.body() = "bad request: " + ec.message() + "\n";
          bad.keep_alive(false);
          bad.prepare_payload();
          connection.stream.expires_after(kWriteTimeout);
          co_await http::async_write(connection.stream, bad, redirect(ec));
        }
        break;
      }
      connection.busy = true;
      Request request = parser.release();
      Response response = co_await respond(server, worker, request);
      response.keep_alive(request.keep_alive() && !worker.draining);
      connection.stream.expires_after(kWriteTimeout);
      co_await http::async_write(connection.stream, response, redirect(ec));
      connection.busy = false;
      if (ec || !response.keep_alive()) break;
    }
    connection.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  static awaitable<Response> respond(SampleServer& server, SampleServer::Worker& worker,
                                     const Request& request) {
    const auto target = request.target();
    std::string_view path(target.data(), target.size());
    path = path.substr(0, path.find('?'));
    if (path == "/healthz") co_return make_response(request, 200, "ok\n", "text/plain");
    if (path == "/readyz") {
      if (server.draining_.load()) {
        co_return make_response(request, 503, "shutting down\n", "text/plain");
      }
      co_return make_response(request, 200, "ready\n", "text/plain");
    }

    const AppOptions& options = server.options_;
    const auto start = std::chrono::steady_clock::now();
    const bool injected_failure = draw_failure(options.failure_rate, worker.random);
    const auto delay = sample_latency(options.latency, worker.random);
    if (delay.count() > 0) {
      error_code ec;
      asio::steady_timer timer(worker.ioc, delay);
      co_await timer.async_wait(redirect(ec));
    }
    std::vector<DownstreamCall> calls;
    if (!injected_failure) {
      for (auto& client : worker.downstreams) {
        CallResult result = co_await client->get(options.downstream_timeout, {});
        calls.push_back({client->url().text, std::move(result)});
      }
    }
    Reply reply =
        build_reply({options.name, options.version, options.pod_name}, injected_failure, calls);
    if (server.logger_.enabled(LogLevel::kDebug)) {
      const double elapsed_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      server.logger_.debug("request", {{"method", std::string(request.method_string())},
                                       {"path", std::string(path)},
                                       {"status", reply.status},
                                       {"duration_ms", elapsed_ms}});
    }
    co_return make_response(request, reply.status, std::move(reply.body), "application/json");
  }
};

SampleServer::SampleServer(const AppOptions& options, Logger& logger)
    : options_(options), logger_(logger) {}

SampleServer::~SampleServer() {
  if (!stopped_) stop_threads();
}

Result<std::unique_ptr<SampleServer>> SampleServer::start(const AppOptions& options,
                                                          Logger& logger) {
  std::unique_ptr<SampleServer> server(new SampleServer(options, logger));
  std::random_device seed_source;
  for (int i = 0; i < options.threads; ++i) {
    const std::uint64_t seed = (std::uint64_t{seed_source()} << 32) ^ seed_source();
    auto worker = std::make_unique<Worker>(seed);
    for (const auto& url : options.downstreams) {
      worker->downstreams.push_back(std::make_unique<HttpClient>(worker->ioc.get_executor(), url,
                                                                 kMaxIdleDownstreamConnections));
    }
    server->workers_.push_back(std::move(worker));
  }

  const std::string where = options.address + " port " + std::to_string(options.port);
  error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec) return Error{"address \"" + options.address + "\" is not an IP address"};
  const tcp::endpoint endpoint(address, options.port);
  server->acceptor_ = std::make_unique<Acceptor>(server->workers_.front()->ioc);
  tcp::acceptor& acceptor = server->acceptor_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + where + ": " + ec.message()};
  server->port_ = acceptor.local_endpoint(ec).port();

  asio::co_spawn(server->workers_.front()->ioc, Session::accept_loop(*server), asio::detached);
  for (auto& worker : server->workers_) {
    worker->thread = std::thread([worker = worker.get(), &logger] {
      for (;;) {
        try {
          worker->ioc.run();
          return;
        } catch (const std::exception& e) {  // a bug, not traffic: log it and keep serving
          logger.error("worker caught an exception", {{"error", e.what()}});
        }
      }
    });
  }
  return server;
}

void SampleServer::begin_shutdown() {
  if (draining_.exchange(true)) return;
  asio::post(workers_.front()->ioc, [this] {
    error_code ec;
    acceptor_->acceptor.close(ec);
  });
  for (auto& worker : workers_) {
    asio::post(worker->ioc, [worker = worker.get()] {
      worker->draining = true;
      // Idle connections end now; busy ones close after their response.
      for (Connection* connection : worker->connections) {
        if (!connection->busy) connection->stream.cancel();
      }
    });
  }
}

std::size_t SampleServer::finish_shutdown(std::chrono::milliseconds grace) {
  begin_shutdown();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::size_t cut = open_connections_.load();
  stop_threads();
  return cut;
}

void SampleServer::stop_threads() {
  stopped_ = true;
  for (auto& worker : workers_) {
    worker->guard.reset();
    worker->ioc.stop();
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  acceptor_.reset();  // before the io_context it belongs to
  workers_.clear();
}

}  // namespace weft::samples
