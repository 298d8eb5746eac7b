#include "weft/http/server.h"

#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <list>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "weft/file.h"

namespace weft::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Headers beyond this are an attack or a bug, not a client of ours.
constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;
// A connection's read buffer: a whole head, plus room to read the body through
// it in pieces. Without a cap it grows with what a client sends in one go.
constexpr std::size_t kMaxReadBufferBytes = kMaxHeaderBytes + 16 * 1024;

// After a refusal, what the client may still send before the connection is
// closed anyway: more than an object the API server stores (1.5 MiB) in a
// review, which carries it twice at most.
constexpr std::size_t kMaxLingerBytes = 4 * 1024 * 1024;

// Why a request was refused: from its head (too large, memory) or when its
// body would grow past what the server or its source may hold.
enum class Refusal { kNone, kBodyTooLarge, kBytesInFlight, kLargeBodies, kSource, kMemory };
constexpr std::size_t kRefusals = 6;

Response refusal_response(Refusal refusal) {
  switch (refusal) {
    case Refusal::kBodyTooLarge:
      return Response{413, "request body too large\n"};
    case Refusal::kBytesInFlight:
    case Refusal::kLargeBodies:
      return Response{503, "too many request bodies in flight; retry\n"};
    case Refusal::kSource:
      return Response{503, "too many request bodies in flight from this address; retry\n"};
    case Refusal::kMemory:
      return Response{503, "server memory is short; retry\n"};
    case Refusal::kNone:
      break;
  }
  return Response{500, "internal error\n"};
}

// Asked before a request body's memory grows; says why not, or kNone.
class BodyBudget {
 public:
  virtual ~BodyBudget() = default;
  virtual Refusal grow(std::size_t to) = 0;  // to: the bytes the body will hold
};

// A string body that grows as its bytes arrive, never ahead of them: Beast's
// string_body reserves a whole Content-Length from the head, so a client could
// make the server hold memory with heads alone. Every growth is granted by the
// budget first; holding n bytes costs at most 2n.
struct BudgetedBody {
  struct value_type {
    std::string text;
    BodyBudget* budget = nullptr;
    Refusal refusal = Refusal::kNone;  // why the last growth was refused
  };

  class reader {
   public:
    template <bool kRequest, class Fields>
    reader(bhttp::header<kRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, error_code& ec) {
      if (length) declared_ = static_cast<std::size_t>(*length);
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      const std::size_t n = asio::buffer_size(buffers);
      std::string& text = body_.text;
      if (text.size() + n > text.capacity() && !grow_to(text.size() + n)) {
        ec = make_error_code(boost::system::errc::not_enough_memory);
        return 0;
      }
      const std::size_t before = text.size();
      text.resize(before + n);
      asio::buffer_copy(asio::buffer(text.data() + before, n), buffers);
      ec = {};
      return n;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    bool grow_to(std::size_t needed) {
      std::string& text = body_.text;
      std::size_t target = std::max({needed, 2 * text.capacity(), std::size_t{4096}});
      if (declared_ && *declared_ >= needed) target = std::min(target, *declared_);
      if (body_.budget != nullptr) {
        const Refusal refusal = body_.budget->grow(target);
        if (refusal != Refusal::kNone) {
          body_.refusal = refusal;
          return false;
        }
      }
      // A fresh string reserves exactly the target (growing in place may
      // round up), so what the budget granted is what is held.
      std::string bigger;
      bigger.reserve(target);
      bigger.append(text);
      text.swap(bigger);
      return true;
    }

    value_type& body_;
    std::optional<std::size_t> declared_;
  };
};

struct TlsMaterial {
  std::string cert;
  std::string key;
  bool operator==(const TlsMaterial&) const = default;
};

Result<TlsMaterial> read_tls_material(const TlsFiles& files) {
  auto cert = read_file(files.cert_file);
  if (!cert) return cert.error();
  auto key = read_file(files.key_file);
  if (!key) return key.error();
  return TlsMaterial{std::move(*cert), std::move(*key)};
}

Result<std::shared_ptr<ssl::context>> make_tls_context(const TlsMaterial& material,
                                                       const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);
  // The one place older protocols are refused (the no_tlsv1* options say the
  // same, deprecated, and would hide this line's removal from the tests).
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return Error{"cannot set the minimum TLS version"};
  }
  // An idle connection gives its TLS record buffers back (about 34 KiB of
  // the 75 KiB an idle TLS connection held without it).
  SSL_CTX_set_mode(context->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  error_code ec;
  context->use_certificate_chain(asio::buffer(material.cert), ec);
  if (ec) return Error{"TLS certificate " + files.cert_file + ": " + ec.message()};
  context->use_private_key(asio::buffer(material.key), ssl::context::pem, ec);
  if (ec) return Error{"TLS private key " + files.key_file + ": " + ec.message()};
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return Error{"TLS private key " + files.key_file + " does not match certificate " +
                 files.cert_file};
  }
  return context;
}

// The order in which connections are evicted to make room for a newcomer at
// the connection cap: those lingering after a refusal, then those waiting for
// (the rest of) a request, then those that had a request answered before.
enum class Tier { kLingering, kWaiting, kAnswered };

// What the server needs to reach a connection from outside its strand.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void close_now() = 0;      // posted to the connection's strand
  virtual void close_if_idle() = 0;  // likewise; used when stopping
};

}  // namespace

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(ServerOptions options, Routes routes, AsyncRoutes async_routes)
      : options_(std::move(options)),
        routes_(std::move(routes)),
        async_routes_(std::move(async_routes)),
        ioc_(options_.threads) {
    if (options_.registry != nullptr) {
      const std::string prefix = options_.metrics_prefix + "_http_";
      open_gauge_ =
          &options_.registry->gauge(prefix + "connections_open", "Connections open now.").get();
      accepted_counter_ =
          &options_.registry->counter(prefix + "connections_total", "Connections accepted.").get();
      auto& dropped = options_.registry->counter(
          prefix + "connections_dropped_total",
          "Connections closed by the server before a request: over the connection cap, "
          "evicted or failed in the TLS handshake, evicted while lingering or waiting for a "
          "request (idle_evicted) to make room under the cap, or over one client address's "
          "cap (source_cap).",
          {"reason"});
      dropped_over_capacity_ = &dropped.with_labels({"over_capacity"});
      dropped_evicted_ = &dropped.with_labels({"handshake_evicted"});
      dropped_waiting_evicted_ = &dropped.with_labels({"idle_evicted"});
      dropped_per_source_ = &dropped.with_labels({"source_cap"});
      dropped_handshake_failed_ = &dropped.with_labels({"handshake_failed"});
      requests_counter_ = &options_.registry->counter(
          prefix + "requests_total", "Requests answered, by status code.", {"code"});
      auto& refused = options_.registry->counter(
          prefix + "requests_refused_total",
          "Requests refused before their body was stored whole: body_too_large (413), "
          "bytes_in_flight, large_bodies, source (one client address's share) or "
          "memory (503).",
          {"reason"});
      refused_counters_ = {nullptr,
                           &refused.with_labels({"body_too_large"}),
                           &refused.with_labels({"bytes_in_flight"}),
                           &refused.with_labels({"large_bodies"}),
                           &refused.with_labels({"source"}),
                           &refused.with_labels({"memory"})};
      in_flight_gauge_ = &options_.registry
                              ->gauge(prefix + "body_bytes_in_flight",
                                      "Request body bytes being read or handled now.")
                              .get();
      if (options_.shed_resident_bytes > 0) {
        resident_gauge_ = &options_.registry
                               ->gauge(prefix + "resident_memory_bytes",
                                       "Resident memory as last sampled for load shedding.")
                               .get();
      }
    }
  }

  Result<bool> listen();
  void run_threads();
  void stop();
  ServerStats stats() const;
  std::uint16_t port() const { return port_; }

  // Used by connections.
  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  Response dispatch(const Request& request);
  // The asynchronous handler of the path, or null (a sync route, or none).
  const AsyncHandler* async_route(std::string_view path) const {
    if (routes_.find(path) != routes_.end()) return nullptr;
    const auto route = async_routes_.find(path);
    return route == async_routes_.end() ? nullptr : &route->second;
  }
  void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {}) {
    if (options_.logger != nullptr) options_.logger->log(level, msg, fields);
  }
  // Registration: every open connection is in connections_, those in the TLS
  // handshake also in handshaking_, those lingering or waiting for or reading
  // a request in evictable_[tier] (oldest first). Iterators stay valid in a
  // std::list.
  using Registration = std::list<std::weak_ptr<Connection>>::iterator;
  Registration add_connection(std::weak_ptr<Connection> connection,
                              const asio::ip::address& source);
  void remove_connection(Registration registration, const asio::ip::address& source);
  // Returns the handshake registration; may evict the oldest handshake.
  Registration add_handshake(std::weak_ptr<Connection> connection);
  // False if the connection had been evicted (and so was already removed).
  bool remove_handshake(Registration registration, const Connection* connection);
  // Waiting for or reading a request: the oldest is evicted when the connection
  // cap is reached. A real client sends its request in milliseconds, so the
  // oldest is an idle keep-alive (its client simply connects again) or one
  // that connects and stalls, with or without a head.
  // Connections that have had a request answered (the API server's kept-alive
  // ones) go only after every connection that has not.
  Registration add_waiting(std::weak_ptr<Connection> connection, Tier tier);
  bool remove_waiting(Registration registration, const Connection* connection, Tier tier);
  void count_handshake_failed() {
    handshakes_failed_.fetch_add(1, std::memory_order_relaxed);
    if (dropped_handshake_failed_ != nullptr) dropped_handshake_failed_->inc();
  }
  // Whether a request with a body may start: not while memory is short.
  Refusal admit_body_head();
  // Grows what one body from `source` holds from `from` to `to` bytes, or says
  // why not (and counts it). Release with release_body(source, held).
  Refusal reserve_body(const asio::ip::address& source, std::size_t from, std::size_t to);
  void release_body(const asio::ip::address& source, std::size_t bytes);
  void count_refused(Refusal refusal) {
    refused_[static_cast<std::size_t>(refusal)].fetch_add(1, std::memory_order_relaxed);
    if (auto* counter = refused_counters_[static_cast<std::size_t>(refusal)]; counter != nullptr) {
      counter->inc();
    }
  }
  void count_request(int status) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    if (requests_counter_ != nullptr)
      requests_counter_->with_labels({std::to_string(status)}).inc();
  }

 private:
  void accept();
  void on_accept(tcp::socket socket);
  void schedule_tls_reload();
  void reload_tls();
  void sample_resident();
  std::shared_ptr<ssl::context> current_tls_context() {
    std::lock_guard lock(mutex_);
    return tls_context_;
  }
  template <typename Visit>
  void for_each_connection(Visit visit);

  const ServerOptions options_;
  const Routes routes_;
  const AsyncRoutes async_routes_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;  // stop() ran; only touched by the owner's thread

  mutable std::mutex mutex_;  // guards what follows up to the counters
  std::shared_ptr<ssl::context> tls_context_;
  TlsMaterial tls_loaded_;         // what tls_context_ was built from
  TlsMaterial tls_last_rejected_;  // so one bad pair is logged once
  std::list<std::weak_ptr<Connection>> connections_;
  std::list<std::weak_ptr<Connection>> handshaking_;
  std::array<std::list<std::weak_ptr<Connection>>, 3> evictable_;  // indexed by Tier
  std::map<asio::ip::address, std::size_t> connections_by_source_;
  std::vector<const Connection*> evicted_;  // evicted, not yet told; see leave()
  // Removes a connection from a stage; false if it had been evicted from it.
  bool leave(std::list<std::weak_ptr<Connection>>& stage, Registration registration,
             const Connection* connection);

  struct BodyUse {
    std::size_t bytes = 0;
    std::size_t large = 0;
  };
  mutable std::mutex bodies_mutex_;  // guards the uses that follow
  BodyUse bodies_;
  std::map<asio::ip::address, BodyUse> bodies_by_source_;  // sources holding a body now
  std::atomic<std::size_t> resident_bytes_{0};
  std::array<std::atomic<std::uint64_t>, kRefusals> refused_{};  // indexed by Refusal
  std::array<Counter*, kRefusals> refused_counters_{};
  Gauge* in_flight_gauge_ = nullptr;
  Gauge* resident_gauge_ = nullptr;

  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> accepted_{0}, rejected_over_capacity_{0}, handshakes_evicted_{0},
      waiting_evicted_{0}, rejected_per_source_{0}, handshakes_failed_{0}, tls_reloads_{0},
      requests_{0};
  Gauge* open_gauge_ = nullptr;
  Counter* accepted_counter_ = nullptr;
  Counter* dropped_over_capacity_ = nullptr;
  Counter* dropped_evicted_ = nullptr;
  Counter* dropped_waiting_evicted_ = nullptr;
  Counter* dropped_per_source_ = nullptr;
  Counter* dropped_handshake_failed_ = nullptr;
  Family<Counter>* requests_counter_ = nullptr;

  std::vector<std::thread> threads_;
  // Declared last: destroyed first, while everything a pending handler touches
  // is still alive.
  asio::io_context ioc_;
  asio::strand<asio::io_context::executor_type> control_strand_{ioc_.get_executor()};
  tcp::acceptor acceptor_{control_strand_};
  asio::steady_timer tls_reload_timer_{control_strand_};
  asio::steady_timer resident_timer_{control_strand_};
};

namespace {

// One HTTP/1.1 connection, plain or TLS; all its work runs on its own strand.
template <bool kTls>
class Session : public Connection,
                public BodyBudget,
                public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(Server::Impl& server, tcp::socket socket, std::shared_ptr<ssl::context> tls)
      : server_(server),
        tls_(std::move(tls)),
        source_(remote_address(socket)),
        stream_(make_stream(std::move(socket), tls_.get())) {}

  ~Session() override {
    release_body();
    if (registered_) server_.remove_connection(registration_, source_);
    if (in_handshake_) server_.remove_handshake(handshake_registration_, this);
    if (waiting_) server_.remove_waiting(waiting_registration_, this, tier_);
  }

  void start() {
    registration_ = server_.add_connection(this->weak_from_this(), source_);
    registered_ = true;
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void close_now() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      beast::get_lowest_layer(self->stream_).close();
    });
  }
  void close_if_idle() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->reading_) beast::get_lowest_layer(self->stream_).close();
    });
  }

  Refusal grow(std::size_t to) override {
    const Refusal refusal = server_.reserve_body(source_, reserved_, to);
    if (refusal == Refusal::kNone) reserved_ = to;
    return refusal;
  }

 private:
  static asio::ip::address remote_address(const tcp::socket& socket) {
    error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    return ec ? asio::ip::address() : endpoint.address();
  }

  static Stream make_stream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  void begin() {
    if constexpr (kTls) {
      handshake_registration_ = server_.add_handshake(this->weak_from_this());
      in_handshake_ = true;
      beast::get_lowest_layer(stream_).expires_after(server_.options().handshake_timeout);
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
    } else {
      read();
    }
  }

  void on_handshake(error_code ec) {
    in_handshake_ = false;
    const bool evicted = !server_.remove_handshake(handshake_registration_, this);
    if (ec) {
      if (!evicted) server_.count_handshake_failed();
      return;
    }
    read();
  }

  void read() {
    if (server_.stopping()) {
      close();
      return;
    }
    parser_.emplace();
    parser_->body_limit(server_.options().max_body_bytes);
    parser_->header_limit(kMaxHeaderBytes);
    parser_->get().body().budget = this;
    beast::get_lowest_layer(stream_).expires_after(server_.options().read_timeout);
    reading_ = true;
    tier_ = answered_ ? Tier::kAnswered : Tier::kWaiting;
    waiting_registration_ = server_.add_waiting(this->weak_from_this(), tier_);
    waiting_ = true;
    // The head first: a request with a body is refused while memory is short,
    // before any of it is read.
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec) {
      on_read(ec);
      return;
    }
    const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    if (has_body) {
      if (const Refusal refusal = server_.admit_body_head(); refusal != Refusal::kNone) {
        stop_waiting();
        reading_ = false;
        respond(refusal_response(refusal), false);
        return;
      }
    }
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void release_body() {
    if (reserved_ == 0) return;
    server_.release_body(source_, reserved_);
    reserved_ = 0;
  }

  void stop_waiting() {
    if (!waiting_) return;
    waiting_ = false;
    server_.remove_waiting(waiting_registration_, this, tier_);
  }

  void on_read(error_code ec) {
    stop_waiting();
    reading_ = false;
    if (const Refusal refusal = parser_ ? parser_->get().body().refusal : Refusal::kNone;
        ec && refusal != Refusal::kNone) {
      respond(refusal_response(refusal), false);
    } else if (ec == bhttp::error::body_limit) {
      server_.count_refused(Refusal::kBodyTooLarge);
      respond(refusal_response(Refusal::kBodyTooLarge), false);
    } else if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      respond(Response{400, "malformed HTTP request: " + ec.message() + "\n"}, false);
    } else if (ec) {
      close();  // end of stream, timeout, reset: nothing to answer
    } else {
      handle();
    }
  }

  void handle() {
    auto& message = parser_->get();
    Request request;
    request.method = std::string(message.method_string());
    const std::string_view target(message.target().data(), message.target().size());
    const auto question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos)
      request.query = std::string(target.substr(question + 1));
    request.content_type = std::string(message[bhttp::field::content_type]);
    request.authorization = std::string(message[bhttp::field::authorization]);
    if (!source_.is_unspecified()) request.peer = source_.to_string();
    request.body = std::move(message.body().text);
    const bool keep_alive = message.keep_alive();
    if (const AsyncHandler* handler = server_.async_route(request.path)) {
      handle_async(*handler, std::move(request), keep_alive);
      return;
    }
    Response response = server_.dispatch(request);
    request = {};  // frees the body before it is released
    release_body();
    respond(std::move(response), keep_alive);
  }

  // What an asynchronous answer needs: the server (its io_context) alive until
  // the answer is posted, the connection until it is written, and one answer.
  struct PendingAnswer {
    using Executor = decltype(std::declval<Stream&>().get_executor());
    PendingAnswer(std::shared_ptr<Server::Impl> server, std::shared_ptr<Session> session,
                  bool keep_alive)
        : server(std::move(server)),
          work(session->stream_.get_executor()),
          session(std::move(session)),
          keep_alive(keep_alive) {}
    // Declared first: destroyed after the rest, which use it.
    std::shared_ptr<Server::Impl> server;
    // Keeps the threads running while no socket operation is pending (when
    // stopping), so the answer and the closing of the connection still run.
    asio::executor_work_guard<Executor> work;
    std::shared_ptr<Session> session;
    const bool keep_alive;
    std::atomic<bool> answered{false};

    void answer(Response response) {
      if (answered.exchange(true)) return;
      // The connection is the posted answer's from now on: a Respond kept by
      // the handler after answering must not keep it open.
      auto executor = session->stream_.get_executor();
      asio::post(executor,
                 [self = std::move(session), response = std::move(response),
                  keep = keep_alive]() mutable { self->respond(std::move(response), keep); });
      work.reset();  // the posted answer is work of its own
    }
  };

  // The handler returns at once; the answer comes back on this connection's
  // strand, from whichever thread gives it. The body stays reserved until then.
  void handle_async(const AsyncHandler& handler, Request request, bool keep_alive) {
    auto pending = std::make_shared<PendingAnswer>(server_.shared_from_this(),
                                                   this->shared_from_this(), keep_alive);
    Respond respond = [pending](Response response) { pending->answer(std::move(response)); };
    const std::string path = request.path;
    try {
      handler(std::move(request), respond);
      return;
    } catch (const std::exception& e) {
      server_.log(LogLevel::kError, "handler threw", {{"path", path}, {"error", e.what()}});
    } catch (...) {
      server_.log(LogLevel::kError, "handler threw", {{"path", path}});
    }
    respond(Response{500, "internal error\n"});
  }

  void respond(Response response, bool keep_alive) {
    // A request refused before it was read whole: the client may still be
    // sending it, and closing at once would reset the connection and lose the
    // answer on its side. Its partial body is freed before its budget is.
    const bool unread = parser_ && !parser_->is_done();
    if (unread) parser_.reset();
    release_body();
    keep_alive = keep_alive && !server_.stopping();
    server_.count_request(response.status);
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(response.status));
    response_.set(bhttp::field::server, "weft");
    response_.set(bhttp::field::content_type, response.content_type);
    if (response.retry_after.count() > 0) {
      response_.set(bhttp::field::retry_after, std::to_string(response.retry_after.count()));
    }
    response_.keep_alive(keep_alive);
    response_.body() = std::move(response.body);
    response_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(server_.options().write_timeout);
    bhttp::async_write(
        stream_, response_,
        [self = this->shared_from_this(), keep_alive, unread](error_code ec, std::size_t) {
          if (!ec && unread) {
            self->linger();
          } else if (ec || !keep_alive) {
            self->close();
          } else {
            self->answered_ = true;
            self->read();
          }
        });
  }

  // Half-closes, then reads and drops what the client still sends, for at
  // most linger_timeout, then closes (nginx's lingering close).
  void linger() {
    auto& socket = beast::get_lowest_layer(stream_).socket();
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    beast::get_lowest_layer(stream_).expires_after(server_.options().linger_timeout);
    reading_ = true;  // stopping may close it at once
    // The first to go when a newcomer needs the place.
    tier_ = Tier::kLingering;
    waiting_registration_ = server_.add_waiting(this->weak_from_this(), tier_);
    waiting_ = true;
    drain();
  }

  // Raw TCP bytes, never decrypted: nothing more is read from this stream, so
  // a client cannot make the server spend CPU on a body it refused. At most
  // kMaxLingerBytes, then the connection is closed anyway.
  void drain() {
    buffer_.consume(buffer_.size());
    beast::get_lowest_layer(stream_).async_read_some(
        buffer_.prepare(buffer_.max_size()),
        [self = this->shared_from_this()](error_code ec, std::size_t n) {
          self->lingered_ += n;
          if (ec || self->lingered_ > kMaxLingerBytes) {
            self->close();
          } else {
            self->drain();
          }
        });
  }

  // The response carries its length, so a FIN after it is a clean end; no TLS
  // close_notify exchange, which would give a slow peer one more thing to stall.
  void close() {
    auto& socket = beast::get_lowest_layer(stream_).socket();
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  Server::Impl& server_;
  std::shared_ptr<ssl::context> tls_;  // kept alive for this connection across reloads
  const asio::ip::address source_;     // the client's address: its share of body memory
  Stream stream_;
  beast::flat_buffer buffer_{kMaxReadBufferBytes};
  std::size_t reserved_ = 0;  // body bytes granted by the server (the body's capacity)
  std::optional<bhttp::request_parser<BudgetedBody>> parser_;
  bhttp::response<bhttp::string_body> response_;
  bool reading_ = false;
  bool registered_ = false;
  bool in_handshake_ = false;
  bool waiting_ = false;        // reading a request, in one of the server's waiting lists
  bool answered_ = false;       // a request on this connection was answered
  std::size_t lingered_ = 0;    // bytes dropped while lingering
  Tier tier_ = Tier::kWaiting;  // where waiting_registration_ is
  Server::Impl::Registration waiting_registration_;
  Server::Impl::Registration registration_;
  Server::Impl::Registration handshake_registration_;
};

}  // namespace

Response Server::Impl::dispatch(const Request& request) {
  const auto route = routes_.find(request.path);
  if (route == routes_.end()) return Response{404, "not found: " + request.path + "\n"};
  try {
    return route->second(request);
  } catch (const std::exception& e) {
    log(LogLevel::kError, "handler threw", {{"path", request.path}, {"error", e.what()}});
  } catch (...) {
    log(LogLevel::kError, "handler threw", {{"path", request.path}});
  }
  return Response{500, "internal error\n"};
}

Refusal Server::Impl::admit_body_head() {
  if (options_.shed_resident_bytes > 0 &&
      resident_bytes_.load(std::memory_order_relaxed) > options_.shed_resident_bytes) {
    count_refused(Refusal::kMemory);
    return Refusal::kMemory;
  }
  return Refusal::kNone;
}

Refusal Server::Impl::reserve_body(const asio::ip::address& source, std::size_t from,
                                   std::size_t to) {
  const std::size_t more = to - from;
  const bool becomes_large = from <= options_.large_body_bytes && to > options_.large_body_bytes;
  const Refusal refusal = [&] {
    std::lock_guard lock(bodies_mutex_);
    BodyUse& mine = bodies_by_source_[source];
    Refusal why = Refusal::kNone;
    if (bodies_.bytes + more > options_.max_body_bytes_in_flight) {
      why = Refusal::kBytesInFlight;
    } else if (becomes_large && bodies_.large >= options_.max_large_bodies) {
      why = Refusal::kLargeBodies;
    } else if (mine.bytes + more > options_.max_body_bytes_in_flight_per_source ||
               (becomes_large && mine.large >= options_.max_large_bodies_per_source)) {
      why = Refusal::kSource;
    }
    if (why != Refusal::kNone) {
      if (mine.bytes == 0) bodies_by_source_.erase(source);
      return why;
    }
    bodies_.bytes += more;
    mine.bytes += more;
    if (becomes_large) {
      ++bodies_.large;
      ++mine.large;
    }
    return Refusal::kNone;
  }();
  if (refusal != Refusal::kNone) {
    count_refused(refusal);
  } else if (in_flight_gauge_ != nullptr) {
    in_flight_gauge_->add(static_cast<double>(more));
  }
  return refusal;
}

void Server::Impl::release_body(const asio::ip::address& source, std::size_t bytes) {
  const bool large = bytes > options_.large_body_bytes;
  {
    std::lock_guard lock(bodies_mutex_);
    bodies_.bytes -= bytes;
    if (large) --bodies_.large;
    const auto mine = bodies_by_source_.find(source);
    if (mine != bodies_by_source_.end()) {
      mine->second.bytes -= bytes;
      if (large) --mine->second.large;
      if (mine->second.bytes == 0) bodies_by_source_.erase(mine);
    }
  }
  if (in_flight_gauge_ != nullptr) in_flight_gauge_->add(-static_cast<double>(bytes));
}

Server::Impl::Registration Server::Impl::add_connection(std::weak_ptr<Connection> connection,
                                                        const asio::ip::address& source) {
  open_.fetch_add(1, std::memory_order_relaxed);
  if (open_gauge_ != nullptr) open_gauge_->inc();
  std::lock_guard lock(mutex_);
  ++connections_by_source_[source];
  connections_.push_back(std::move(connection));
  return std::prev(connections_.end());
}

void Server::Impl::remove_connection(Registration registration, const asio::ip::address& source) {
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (open_gauge_ != nullptr) open_gauge_->dec();
  std::lock_guard lock(mutex_);
  connections_.erase(registration);
  const auto count = connections_by_source_.find(source);
  if (count != connections_by_source_.end() && --count->second == 0) {
    connections_by_source_.erase(count);
  }
}

Server::Impl::Registration Server::Impl::add_handshake(std::weak_ptr<Connection> connection) {
  std::shared_ptr<Connection> evict;
  Registration registration;
  {
    std::lock_guard lock(mutex_);
    handshaking_.push_back(std::move(connection));
    registration = std::prev(handshaking_.end());
    if (handshaking_.size() > options_.max_handshaking) {
      evict = handshaking_.front().lock();
      handshaking_.pop_front();
      if (evict) evicted_.push_back(evict.get());
    }
  }
  if (evict) {
    handshakes_evicted_.fetch_add(1, std::memory_order_relaxed);
    if (dropped_evicted_ != nullptr) dropped_evicted_->inc();
    evict->close_now();
  }
  return registration;
}

bool Server::Impl::leave(std::list<std::weak_ptr<Connection>>& stage, Registration registration,
                         const Connection* connection) {
  std::lock_guard lock(mutex_);
  const auto evicted = std::find(evicted_.begin(), evicted_.end(), connection);
  if (evicted != evicted_.end()) {
    evicted_.erase(evicted);  // its registration is gone already
    return false;
  }
  stage.erase(registration);
  return true;
}

bool Server::Impl::remove_handshake(Registration registration, const Connection* connection) {
  return leave(handshaking_, registration, connection);
}

Server::Impl::Registration Server::Impl::add_waiting(std::weak_ptr<Connection> connection,
                                                     Tier tier) {
  std::lock_guard lock(mutex_);
  auto& list = evictable_[static_cast<std::size_t>(tier)];
  list.push_back(std::move(connection));
  return std::prev(list.end());
}

bool Server::Impl::remove_waiting(Registration registration, const Connection* connection,
                                  Tier tier) {
  return leave(evictable_[static_cast<std::size_t>(tier)], registration, connection);
}

template <typename Visit>
void Server::Impl::for_each_connection(Visit visit) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mutex_);
    for (const auto& weak : connections_) {
      if (auto connection = weak.lock()) live.push_back(std::move(connection));
    }
  }
  for (const auto& connection : live) visit(*connection);
}

Result<bool> Server::Impl::listen() {
  if (options_.tls) {
    auto material = read_tls_material(*options_.tls);
    if (!material) return material.error();
    auto context = make_tls_context(*material, *options_.tls);
    if (!context) return context.error();
    tls_context_ = std::move(*context);
    tls_loaded_ = std::move(*material);
  }
  error_code ec;
  const auto address = asio::ip::make_address(options_.address, ec);
  if (ec) return Error{"invalid listen address '" + options_.address + "': " + ec.message()};
  const tcp::endpoint endpoint(address, options_.port);
  const std::string where = options_.address + ":" + std::to_string(options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"cannot listen on " + where + ": " + ec.message()};
  port_ = acceptor_.local_endpoint().port();
  return true;
}

void Server::Impl::run_threads() {
  asio::dispatch(control_strand_, [this] {
    accept();
    if (options_.tls) schedule_tls_reload();
    if (options_.shed_resident_bytes > 0) sample_resident();
  });
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void Server::Impl::accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](error_code ec, tcp::socket socket) {
    if (stopping() || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: back off instead of spinning.
      log(LogLevel::kWarn, "accept failed", {{"error", ec.message()}});
      auto pause = std::make_shared<asio::steady_timer>(control_strand_);
      pause->expires_after(std::chrono::milliseconds(100));
      pause->async_wait([this, pause](error_code) {
        if (!stopping()) accept();
      });
      return;
    }
    on_accept(std::move(socket));
    accept();
  });
}

void Server::Impl::on_accept(tcp::socket socket) {
  error_code peer_error;
  const auto peer = socket.remote_endpoint(peer_error);
  if (!peer_error) {
    std::lock_guard lock(mutex_);
    const auto count = connections_by_source_.find(peer.address());
    if (count != connections_by_source_.end() &&
        count->second >= options_.max_connections_per_source) {
      rejected_per_source_.fetch_add(1, std::memory_order_relaxed);
      if (dropped_per_source_ != nullptr) dropped_per_source_->inc();
      error_code ignored;
      socket.close(ignored);
      return;
    }
  }
  if (open_.load(std::memory_order_relaxed) >= options_.max_connections) {
    // Room for the newcomer is made by closing the connection that has waited
    // longest for (the rest of) a request (it closes on its own strand a moment later);
    // only when none waits is the newcomer refused.
    std::shared_ptr<Connection> evict;
    {
      std::lock_guard lock(mutex_);
      for (auto& list : evictable_) {
        // An entry whose connection is gone (being destroyed) stays for its
        // destructor to remove.
        for (auto entry = list.begin(); entry != list.end(); ++entry) {
          if ((evict = entry->lock())) {
            list.erase(entry);
            break;
          }
        }
        if (evict) break;
      }
      if (evict) evicted_.push_back(evict.get());
    }
    if (!evict) {
      rejected_over_capacity_.fetch_add(1, std::memory_order_relaxed);
      if (dropped_over_capacity_ != nullptr) dropped_over_capacity_->inc();
      error_code ignored;
      socket.close(ignored);
      return;
    }
    waiting_evicted_.fetch_add(1, std::memory_order_relaxed);
    if (dropped_waiting_evicted_ != nullptr) dropped_waiting_evicted_->inc();
    evict->close_now();
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);
  if (accepted_counter_ != nullptr) accepted_counter_->inc();
  // Request/response traffic: never hold a response's last segment back (Nagle).
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (options_.tls) {
    std::make_shared<Session<true>>(*this, std::move(socket), current_tls_context())->start();
  } else {
    std::make_shared<Session<false>>(*this, std::move(socket), nullptr)->start();
  }
}

void Server::Impl::schedule_tls_reload() {
  tls_reload_timer_.expires_after(options_.tls_reload_interval);
  tls_reload_timer_.async_wait([this](error_code ec) {
    if (ec || stopping()) return;
    reload_tls();
    schedule_tls_reload();
  });
}

void Server::Impl::sample_resident() {
  const std::size_t resident = process_resident_bytes();
  resident_bytes_.store(resident, std::memory_order_relaxed);
  if (resident_gauge_ != nullptr) resident_gauge_->set(static_cast<double>(resident));
  resident_timer_.expires_after(options_.resident_sample_interval);
  resident_timer_.async_wait([this](error_code ec) {
    if (!ec && !stopping()) sample_resident();
  });
}

void Server::Impl::reload_tls() {
  auto material = read_tls_material(*options_.tls);
  if (!material) return;  // mid-rotation (a file briefly missing): try again next tick
  {
    std::lock_guard lock(mutex_);
    if (*material == tls_loaded_ || *material == tls_last_rejected_) return;
  }
  auto context = make_tls_context(*material, *options_.tls);
  std::lock_guard lock(mutex_);
  if (!context) {
    // Often the first of two files written: the next tick sees the pair.
    log(LogLevel::kWarn, "TLS files changed but do not load; keeping the previous pair",
        {{"error", context.error().message}});
    tls_last_rejected_ = std::move(*material);
    return;
  }
  tls_context_ = std::move(*context);
  tls_loaded_ = std::move(*material);
  tls_last_rejected_ = {};
  tls_reloads_.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::kInfo, "TLS certificate reloaded", {{"cert_file", options_.tls->cert_file}});
}

void Server::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  asio::post(control_strand_, [this] {
    error_code ignored;
    acceptor_.close(ignored);
    tls_reload_timer_.cancel();
    resident_timer_.cancel();
  });
  for_each_connection([](Connection& connection) { connection.close_if_idle(); });
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  while (open_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for_each_connection([](Connection& connection) { connection.close_now(); });
  // Everything is closed, so run() returns by itself; stop() is the backstop for a
  // handler that never returns control.
  const auto backstop = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (open_.load() > 0 && std::chrono::steady_clock::now() < backstop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (open_.load() > 0) ioc_.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

ServerStats Server::Impl::stats() const {
  ServerStats stats;
  stats.open_connections = open_.load(std::memory_order_relaxed);
  stats.accepted = accepted_.load(std::memory_order_relaxed);
  stats.rejected_over_capacity = rejected_over_capacity_.load(std::memory_order_relaxed);
  stats.handshakes_evicted = handshakes_evicted_.load(std::memory_order_relaxed);
  stats.waiting_evicted = waiting_evicted_.load(std::memory_order_relaxed);
  stats.rejected_per_source = rejected_per_source_.load(std::memory_order_relaxed);
  stats.handshakes_failed = handshakes_failed_.load(std::memory_order_relaxed);
  stats.tls_reloads = tls_reloads_.load(std::memory_order_relaxed);
  stats.requests = requests_.load(std::memory_order_relaxed);
  const auto refused = [this](Refusal refusal) {
    return refused_[static_cast<std::size_t>(refusal)].load(std::memory_order_relaxed);
  };
  stats.refused_body_too_large = refused(Refusal::kBodyTooLarge);
  stats.refused_bytes_in_flight = refused(Refusal::kBytesInFlight);
  stats.refused_large_bodies = refused(Refusal::kLargeBodies);
  stats.refused_memory = refused(Refusal::kMemory);
  stats.refused_source = refused(Refusal::kSource);
  std::lock_guard lock(bodies_mutex_);
  stats.body_bytes_in_flight = bodies_.bytes;
  stats.body_sources = bodies_by_source_.size();
  return stats;
}

std::size_t process_resident_bytes() {
  const auto statm = read_file("/proc/self/statm");
  if (!statm) return 0;
  // "size resident shared ...", in pages.
  std::size_t size = 0;
  std::size_t resident = 0;
  if (std::sscanf(statm->c_str(), "%zu %zu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Routes routes,
                                              AsyncRoutes async_routes) {
  if (options.threads < 1) return Error{"threads must be at least 1"};
  if (options.max_connections < 1) return Error{"max_connections must be at least 1"};
  if (options.max_handshaking < 1) return Error{"max_handshaking must be at least 1"};
  if (options.max_connections_per_source < 1) {
    return Error{"max_connections_per_source must be at least 1"};
  }
  auto impl =
      std::make_shared<Impl>(std::move(options), std::move(routes), std::move(async_routes));
  auto listening = impl->listen();
  if (!listening) return listening.error();
  impl->run_threads();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
  stop();
}
std::uint16_t Server::port() const {
  return impl_->port();
}
void Server::stop() {
  impl_->stop();
}
ServerStats Server::stats() const {
  return impl_->stats();
}

}  // namespace weft::http
