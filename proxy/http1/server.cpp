#include "proxy/http/http1_server.h"

#include <array>
#include <optional>

#include "proxy/core/deadline.h"
#include "proxy/http/upstream_pool.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"
#include "proxy/routing/router.h"
#include "proxy/tcp/tunnel.h"

namespace weft::proxy {
namespace {

using namespace std::chrono_literals;

// Bodies up to this size are kept so a failed try can be replayed.
constexpr std::uint64_t kMaxReplayBody = 64 * 1024;

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

// Why a try failed without a usable response.
enum class TryFailure {
  kNone,
  kConnect,
  kReset,
  kTimeout,
  kBadResponse,
  kBadRequestBody,  // the client's body broke its framing: 400
  kClientGone,
};

// How streaming one body ended.
enum class PumpResult { kDone, kMalformed, kSourceFailed, kSinkFailed };

// Reusable memory of one body pump: the gathered pieces of a write and the
// chunk framing they point to. One per direction, since the request body may
// still be streaming while the response is relayed.
struct PumpScratch {
  static constexpr std::size_t kMaxSlices = 16;  // body slices gathered in one write
  std::array<std::string, kMaxSlices> chunk_size_lines;
  std::vector<asio::const_buffer> pieces;
  std::string last_chunk;
  std::string joined;  // a small batch copied into one buffer
};

// A batch up to this size is written as one buffer (see as_one_buffer).
constexpr std::size_t kJoinLimit = 4096;

// The batch as one buffer, when it is one piece or small enough to copy into
// one: a head and a short body, as most responses are. The kernel's send()
// of one buffer costs less than its sendmsg() of an I/O vector, and Asio
// copies a vector of pieces (an allocation) before writing it.
std::optional<asio::const_buffer> as_one_buffer(PumpScratch& scratch) {
  if (scratch.pieces.size() == 1) return scratch.pieces.front();
  std::size_t total = 0;
  for (const asio::const_buffer& piece : scratch.pieces) total += piece.size();
  if (total > kJoinLimit) return std::nullopt;
  scratch.joined.clear();
  for (const asio::const_buffer& piece : scratch.pieces) {
    scratch.joined.append(static_cast<const char*>(piece.data()), piece.size());
  }
  return asio::buffer(scratch.joined);
}

// Where one request goes, decided before its first try.
struct Plan {
  int local_status = 0;  // answer locally with this status
  std::string_view local_reason;
  // Views into the snapshot or the session (no copy per request).
  std::string_view target_label;
  std::string_view route_label;
  const proxyconfig::Rule* rule = nullptr;
  std::shared_ptr<const Snapshot> snapshot;  // keeps rule, target and labels alive
  const ServiceTarget* backend = nullptr;    // null: the destination itself
  std::shared_ptr<Balancer> balancer;
  std::shared_ptr<RetryBudget> budget;
};

// The request facts needed after its head's bytes are gone from the buffer.
struct RequestFacts {
  bool is_head = false;
  bool keep_alive = true;
  bool upgrade = false;
  bool expect_continue = false;
  int minor_version = 1;
  http1::BodyKind body = http1::BodyKind::kNone;
  std::uint64_t content_length = 0;
};

class Session {
 public:
  Session(Worker& worker, Socket& client, ReadBuffer& buffer, ConnectionTarget target)
      : worker_(worker),
        runtime_(worker.runtime),
        client_(client),
        client_buffer_(buffer),
        target_(target),
        client_deadline_(client.get_executor()),
        upstream_deadline_(client.get_executor()),
        request_pump_done_(client.get_executor()),
        destination_text_(endpoint_text(target.destination)) {}

  awaitable<ConnectionBytes> run();

 private:
  // Reads until a request head is parsed; false when the connection should end.
  awaitable<bool> read_request_head();
  // Handles the parsed request; false when the connection must close after it.
  awaitable<bool> handle_request();
  Plan plan(const http1::RequestHead& request);
  awaitable<bool> respond_locally(int status, std::string_view reason, bool close);
  // A new connection to the endpoint (send_try looks in the pool first).
  awaitable<std::unique_ptr<UpstreamConnection>> connect(const tcp::endpoint& endpoint,
                                                         TryFailure& failure);
  // Reads a response head from the upstream; forwards interim (1xx) ones.
  // With stop_at_continue, returns after forwarding a 100 Continue (head_size
  // stays 0) so the request body can be sent.
  awaitable<TryFailure> read_response_head(UpstreamConnection& upstream, const RequestFacts& facts,
                                           http1::ResponseHead& response, std::size_t& head_size,
                                           bool stop_at_continue = false);
  // Reads the whole request body into replay_body_ (it is small); false on error.
  awaitable<bool> read_replay_body();
  // One try: connect, send, read the response head.
  awaitable<TryFailure> send_try(const tcp::endpoint& address, const RequestFacts& facts,
                                 bool replayable, http1::ResponseHead& response,
                                 std::size_t& head_size, bool& body_started);
  // Streams a body from `from` to `to`, re-framed as out_kind; `prefix` (a
  // head) is sent with the first bytes.
  awaitable<PumpResult> pump_body(Socket& from, ReadBuffer& in, http1::BodyDecoder& decoder,
                                  Socket& to, http1::BodyKind out_kind, std::string_view prefix,
                                  std::uint64_t& bytes_in, std::uint64_t& bytes_out,
                                  PumpScratch& scratch, const bool* stop = nullptr);
  // The request body streams to the upstream in its own coroutine while the
  // response is read (full duplex): an upstream may answer before it has read
  // the whole body (413, or a 200 that ignores it), and that answer is relayed.
  void start_request_pump(std::string_view prefix, http1::BodyKind out_kind);
  awaitable<void> run_request_pump(std::string_view prefix, http1::BodyKind out_kind);
  // Waits for the request pump to end; with `cancel`, ends it first (its
  // client read and upstream write are aborted). Always awaited before the
  // upstream connection is dropped or the session ends.
  awaitable<void> finish_request_pump(bool cancel);
  awaitable<bool> write_client(std::string_view bytes);
  // The metric handles of (target, route); a keep-alive connection usually
  // sends every request to the same one, so the last is remembered.
  RouteMetrics& route_metrics(std::string_view target, std::string_view route) {
    if (cached_metrics_ == nullptr || cached_target_ != target || cached_route_ != route) {
      cached_metrics_ =
          &runtime_.metrics.route(target_.direction, std::string(target), std::string(route));
      cached_target_ = target;
      cached_route_ = route;
    }
    return *cached_metrics_;
  }

  Worker& worker_;
  Runtime& runtime_;
  Socket& client_;
  ReadBuffer& client_buffer_;
  ConnectionTarget target_;
  Deadline client_deadline_;
  Deadline upstream_deadline_;
  http1::HeadParser parser_;
  http1::HeadParser response_parser_;
  http1::BodyDecoder request_decoder_;
  http1::BodyDecoder response_decoder_;
  http1::RequestHead request_;
  std::size_t request_head_size_ = 0;
  std::string request_head_bytes_;  // the forwarded head, kept for retries
  std::string replay_body_;         // the whole request body, when replayable
  bool replay_body_malformed_ = false;
  // Reused by every request of the connection, so their memory is too (and
  // the coroutine frame of handle_request stays small).
  http1::ResponseHead response_;
  Plan route_;  // the current request's
  std::string response_head_bytes_;
  std::unique_ptr<UpstreamConnection> upstream_;
  std::optional<std::chrono::steady_clock::duration> try_limit_;
  bool request_body_done_ = true;  // the client's body was read to its end
  ConnectionBytes bytes_;
  Worker::IdleNode idle_node_;
  PumpScratch request_scratch_;
  PumpScratch response_scratch_;
  bool request_pump_running_ = false;
  bool request_pump_stop_ = false;
  bool request_pump_abandoned_ = false;  // it failed on the client's side
  PumpResult request_pump_result_ = PumpResult::kDone;
  Timer request_pump_done_;             // cancelled when the pump ends: wakes a waiter
  const std::string destination_text_;  // "address:port" of the destination
  RouteMetrics* cached_metrics_ = nullptr;
  std::string cached_target_;
  std::string cached_route_;
};

awaitable<bool> Session::write_client(std::string_view bytes) {
  error_code ec;
  co_await asio::async_write(client_, asio::buffer(bytes), redirect(ec));
  bytes_.written += bytes.size();
  co_return !ec;
}

awaitable<bool> Session::respond_locally(int status, std::string_view reason, bool close) {
  response_head_bytes_.clear();
  http1::write_local_response(response_head_bytes_, status, reason, close);
  const bool written = co_await write_client(response_head_bytes_);
  co_return written && !close;
}

awaitable<bool> Session::read_request_head() {
  parser_.reset();
  bool waiting_first_byte = client_buffer_.empty();
  // The head's time limit is armed only when the head did not come whole
  // with its first read, so the usual request costs no clock read and no
  // timer update. It runs from that moment, microseconds after the first
  // byte was read (or after protocol detection, for a first request).
  bool head_limit_armed = false;
  while (true) {
    if (!client_buffer_.empty()) {
      const http1::ParseResult result = parser_.parse_request(client_buffer_.data(), request_);
      if (result.status == http1::ParseStatus::kComplete) {
        request_head_size_ = result.consumed;
        client_deadline_.disarm();
        co_return true;
      }
      if (result.status == http1::ParseStatus::kError) {
        client_deadline_.disarm();
        auto& metrics = runtime_.metrics.route(target_.direction, destination_text_, "");
        metrics.requests.inc();
        metrics.response(result.error.status).inc();
        co_await respond_locally(result.error.status, result.error.reason, true);
        co_return false;
      }
      if (!head_limit_armed) {
        client_deadline_.arm(client_, runtime_.settings.header_timeout);
        head_limit_armed = true;
      }
    }
    const auto space = client_buffer_.prepare();
    if (space.size() == 0) co_return false;  // cannot happen: the head limit is below the buffer's
    error_code ec;
    std::size_t n = 0;
    if (waiting_first_byte) {
      // Between requests: idle, and closed at once on a graceful shutdown.
      if (runtime_.draining.load(std::memory_order_relaxed)) co_return false;
      worker_.mark_idle(idle_node_, client_);
      client_deadline_.arm(client_, runtime_.settings.idle_timeout);
      n = co_await client_.async_read_some(space, redirect(ec));
      worker_.mark_busy(idle_node_);
      if (!ec) client_deadline_.disarm();
      waiting_first_byte = false;
    } else {
      n = co_await client_.async_read_some(space, redirect(ec));
    }
    if (ec) {
      client_deadline_.disarm();
      // A timeout while a head was half-received deserves an answer.
      if (client_deadline_.expired() && !client_buffer_.empty()) {
        co_await respond_locally(408, "request head not received in time", true);
      }
      co_return false;
    }
    client_buffer_.commit(n);
    bytes_.read += n;
  }
}

Plan Session::plan(const http1::RequestHead& request) {
  Plan plan;
  plan.snapshot = worker_.routes.snapshot();
  const ServiceTarget* service = nullptr;
  if (target_.direction == Direction::kOutbound && plan.snapshot) {
    service = plan.snapshot->find_by_destination(target_.destination);
  }
  if (service == nullptr) {
    // Not a Service of the configuration (or inbound, or no document yet):
    // forward to the destination as it is.
    plan.target_label = destination_text_;
    return plan;
  }
  plan.target_label = service->label;
  const RouteSelection selection = select_route(*service, request);
  if (selection.no_match) {
    plan.local_status = 404;
    plan.local_reason = "no route matches the request";
    return plan;
  }
  plan.backend = service;
  if (selection.rule != nullptr) {
    plan.rule = selection.rule;
    plan.route_label = selection.rule->route;
    const proxyconfig::Backend* backend = pick_backend(*selection.rule, worker_.routes.random()());
    const ServiceTarget* backend_target =
        backend ? plan.snapshot->find_by_name(backend->service, backend->port) : nullptr;
    if (backend_target == nullptr) {
      plan.local_status = 503;
      plan.local_reason = "the route's backend Service is not known";
      return plan;
    }
    plan.backend = backend_target;
    if (selection.rule->retry) plan.budget = worker_.routes.retry_budget(*service, *selection.rule);
  }
  plan.balancer = worker_.routes.balancer(*plan.backend);
  return plan;
}

awaitable<std::unique_ptr<UpstreamConnection>> Session::connect(const tcp::endpoint& endpoint,
                                                                TryFailure& failure) {
  auto upstream = std::make_unique<UpstreamConnection>(client_.get_executor());
  upstream->endpoint = endpoint;
  error_code ec;
  upstream_deadline_.arm(upstream->socket, runtime_.settings.connect_timeout);
  co_await upstream->socket.async_connect(endpoint, redirect(ec));
  upstream_deadline_.disarm();
  if (ec) {
    failure = TryFailure::kConnect;
    co_return nullptr;
  }
  upstream->socket.set_option(tcp::no_delay(true), ec);
  co_return upstream;
}

awaitable<TryFailure> Session::read_response_head(UpstreamConnection& upstream,
                                                  const RequestFacts& facts,
                                                  http1::ResponseHead& response,
                                                  std::size_t& head_size, bool stop_at_continue) {
  const std::string_view method = facts.is_head ? "HEAD" : "GET";
  response_parser_.reset();
  while (true) {
    if (!upstream.buffer.empty()) {
      const http1::ParseResult result =
          response_parser_.parse_response(upstream.buffer.data(), method, response);
      if (result.status == http1::ParseStatus::kError) co_return TryFailure::kBadResponse;
      if (result.status == http1::ParseStatus::kComplete) {
        if (!response.is_interim()) {
          head_size = result.consumed;
          co_return TryFailure::kNone;
        }
        // 100 Continue, 103 Early Hints: pass on to HTTP/1.1 clients, then
        // wait for the final response.
        if (facts.minor_version >= 1) {
          response_head_bytes_.clear();
          http1::write_response_head(response_head_bytes_, response, {}, 1);
          const bool written = co_await write_client(response_head_bytes_);
          if (!written) co_return TryFailure::kClientGone;
        }
        const bool is_continue = response.status == 100;
        upstream.buffer.consume(result.consumed);
        response_parser_.reset();
        if (is_continue && stop_at_continue) {
          head_size = 0;
          co_return TryFailure::kNone;
        }
        continue;
      }
    }
    const auto space = upstream.buffer.prepare();
    if (space.size() == 0) co_return TryFailure::kBadResponse;
    // The request pump failed on the client's side: no answer is awaited.
    if (request_pump_abandoned_) co_return TryFailure::kReset;
    error_code ec;
    const std::size_t n = co_await upstream.socket.async_read_some(space, redirect(ec));
    if (ec) {
      if (upstream_deadline_.expired()) co_return TryFailure::kTimeout;
      co_return TryFailure::kReset;
    }
    upstream.buffer.commit(n);
  }
}

awaitable<PumpResult> Session::pump_body(Socket& from, ReadBuffer& in, http1::BodyDecoder& decoder,
                                         Socket& to, http1::BodyKind out_kind,
                                         std::string_view prefix, std::uint64_t& bytes_in,
                                         std::uint64_t& bytes_out, PumpScratch& scratch,
                                         const bool* stop) {
  // Checked before each operation: a cancel() reaches only the operation
  // pending at that moment, not one whose completion is already queued.
  const auto stopped = [stop] { return stop != nullptr && *stop; };
  constexpr std::size_t kMaxSlices = PumpScratch::kMaxSlices;
  const bool chunked = out_kind == http1::BodyKind::kChunked;
  // Gathered pieces of one write: the prefix, then per data slice (when
  // chunked) its size line, the data and CRLF. Slices point into `in`, so the
  // batch is written before `in` is read into again.
  // (Members, so their memory is reused by every body of the connection.)
  auto& size_lines = scratch.chunk_size_lines;
  auto& pieces = scratch.pieces;
  auto& last_chunk = scratch.last_chunk;
  pieces.clear();
  if (!prefix.empty()) {
    pieces.emplace_back(prefix.data(), prefix.size());
    bytes_out += prefix.size();
  }
  error_code ec;
  while (true) {
    std::size_t slices = 0;
    bool done = decoder.done();
    while (!done && !in.empty() && slices < kMaxSlices) {
      const http1::BodyDecoder::Step step = decoder.decode(in.data());
      if (step.error.status != 0) co_return PumpResult::kMalformed;
      if (!step.data.empty()) {
        if (chunked) {
          std::string& line = size_lines[slices];
          line.clear();
          http1::write_chunk_header(line, step.data.size());
          pieces.emplace_back(line.data(), line.size());
          pieces.emplace_back(step.data.data(), step.data.size());
          pieces.emplace_back(http1::kChunkEnd.data(), http1::kChunkEnd.size());
        } else {
          pieces.emplace_back(step.data.data(), step.data.size());
        }
        bytes_out += step.data.size();
        ++slices;
      }
      in.consume(step.consumed);
      done = step.done;
      if (step.consumed == 0) break;
    }
    bool source_ended = false;
    if (!done && in.empty() && slices < kMaxSlices) {
      // Write what is batched, then read more.
      if (!pieces.empty()) {
        if (stopped()) co_return PumpResult::kSinkFailed;
        if (const auto one = as_one_buffer(scratch)) {
          co_await asio::async_write(to, *one, redirect(ec));
        } else {
          co_await asio::async_write(to, pieces, redirect(ec));
        }
        if (ec) co_return PumpResult::kSinkFailed;
        pieces.clear();
      }
      const auto space = in.prepare();
      if (stopped()) co_return PumpResult::kSourceFailed;
      const std::size_t n = co_await from.async_read_some(space, redirect(ec));
      if (ec == asio::error::eof && decoder.until_close()) {
        source_ended = true;  // a body delimited by the connection's end
      } else if (ec) {
        co_return PumpResult::kSourceFailed;
      } else {
        in.commit(n);
        bytes_in += n;
        continue;
      }
    }
    if ((done || source_ended) && chunked) {
      last_chunk.clear();
      http1::write_last_chunk(last_chunk, decoder.trailers());
      pieces.emplace_back(last_chunk.data(), last_chunk.size());
    }
    if (!pieces.empty()) {
      if (stopped()) co_return PumpResult::kSinkFailed;
      if (const auto one = as_one_buffer(scratch)) {
        co_await asio::async_write(to, *one, redirect(ec));
      } else {
        co_await asio::async_write(to, pieces, redirect(ec));
      }
      if (ec) co_return PumpResult::kSinkFailed;
      pieces.clear();
    }
    if (done || source_ended) co_return PumpResult::kDone;
  }
}

awaitable<bool> Session::read_replay_body() {
  replay_body_.clear();
  while (!request_decoder_.done()) {
    while (!client_buffer_.empty() && !request_decoder_.done()) {
      const http1::BodyDecoder::Step step = request_decoder_.decode(client_buffer_.data());
      if (step.error.status != 0) {
        replay_body_malformed_ = true;
        co_return false;
      }
      replay_body_ += step.data;
      client_buffer_.consume(step.consumed);
      if (step.consumed == 0) break;
    }
    if (request_decoder_.done()) break;
    error_code ec;
    const std::size_t n = co_await client_.async_read_some(client_buffer_.prepare(), redirect(ec));
    if (ec) co_return false;
    client_buffer_.commit(n);
    bytes_.read += n;
  }
  co_return true;
}

awaitable<TryFailure> Session::send_try(const tcp::endpoint& address, const RequestFacts& facts,
                                        bool replayable, http1::ResponseHead& response,
                                        std::size_t& head_size, bool& body_started) {
  TryFailure failure = TryFailure::kNone;
  // A pooled connection first, without a coroutine frame for connect().
  upstream_ = worker_.pool.take(address);
  if (!upstream_) upstream_ = co_await connect(address, failure);
  if (!upstream_) co_return failure;
  if (try_limit_) upstream_deadline_.arm(upstream_->socket, *try_limit_);
  error_code ec;
  if (replayable) {
    // (One buffer when there is no body: a plain send() instead of sendmsg().)
    if (replay_body_.empty()) {
      co_await asio::async_write(upstream_->socket, asio::buffer(request_head_bytes_),
                                 redirect(ec));
    } else {
      const std::array<asio::const_buffer, 2> pieces{asio::buffer(request_head_bytes_),
                                                     asio::buffer(replay_body_)};
      co_await asio::async_write(upstream_->socket, pieces, redirect(ec));
    }
    if (ec) co_return upstream_deadline_.expired() ? TryFailure::kTimeout : TryFailure::kReset;
    co_return co_await read_response_head(*upstream_, facts, response, head_size);
  }
  // Streaming body: after this point the try cannot be repeated.
  body_started = true;
  std::string_view prefix = request_head_bytes_;
  if (facts.expect_continue) {
    co_await asio::async_write(upstream_->socket, asio::buffer(request_head_bytes_), redirect(ec));
    if (ec) co_return upstream_deadline_.expired() ? TryFailure::kTimeout : TryFailure::kReset;
    failure = co_await read_response_head(*upstream_, facts, response, head_size, true);
    if (failure != TryFailure::kNone || head_size != 0) {
      co_return failure;  // a final response without 100: the body is not sent
    }
    prefix = {};
  }
  start_request_pump(prefix, facts.body);
  failure = co_await read_response_head(*upstream_, facts, response, head_size);
  if (failure == TryFailure::kNone) co_return failure;  // the pump may still be sending
  // No response: the pump's own failure explains it best.
  co_await finish_request_pump(true);
  switch (request_pump_result_) {
    case PumpResult::kMalformed:
      co_return TryFailure::kBadRequestBody;
    case PumpResult::kSourceFailed:
      co_return TryFailure::kClientGone;
    case PumpResult::kDone:
    case PumpResult::kSinkFailed:
      break;
  }
  if (failure == TryFailure::kReset && upstream_deadline_.expired()) co_return TryFailure::kTimeout;
  co_return failure;
}

void Session::start_request_pump(std::string_view prefix, http1::BodyKind out_kind) {
  request_pump_running_ = true;
  request_pump_stop_ = false;
  request_pump_abandoned_ = false;
  asio::co_spawn(client_.get_executor(), run_request_pump(prefix, out_kind), asio::detached);
}

awaitable<void> Session::run_request_pump(std::string_view prefix, http1::BodyKind out_kind) {
  std::uint64_t body_bytes = 0;
  request_pump_result_ =
      co_await pump_body(client_, client_buffer_, request_decoder_, upstream_->socket, out_kind,
                         prefix, bytes_.read, body_bytes, request_scratch_, &request_pump_stop_);
  if (request_pump_result_ == PumpResult::kDone) {
    request_body_done_ = true;
  } else if (request_pump_result_ != PumpResult::kSinkFailed) {
    // The client broke off or sent a malformed body: wake the response read.
    request_pump_abandoned_ = true;
    error_code ignored;
    upstream_->socket.cancel(ignored);
  }
  request_pump_running_ = false;
  request_pump_done_.cancel();
}

awaitable<void> Session::finish_request_pump(bool cancel) {
  if (!request_pump_running_) co_return;
  if (cancel) {
    request_pump_stop_ = true;
    error_code ignored;
    client_.cancel(ignored);
    upstream_->socket.cancel(ignored);
  }
  while (request_pump_running_) {
    request_pump_done_.expires_at(Timer::time_point::max());
    error_code ignored;
    co_await request_pump_done_.async_wait(redirect(ignored));
  }
}

awaitable<bool> Session::handle_request() {
  const auto started = Clock::now();
  RequestFacts facts;
  facts.is_head = request_.method == "HEAD";
  facts.keep_alive = request_.keep_alive;
  facts.upgrade = request_.upgrade;
  facts.expect_continue = request_.expect_continue;
  facts.minor_version = request_.minor_version;
  facts.body = request_.body;
  facts.content_length = request_.content_length;
  request_body_done_ = facts.body == http1::BodyKind::kNone;

  Plan& route = route_;
  route = plan(request_);
  RouteMetrics& metrics = route_metrics(route.target_label, route.route_label);
  metrics.requests.inc();
  const auto record = [&](int status, Clock::time_point at = Clock::now()) {
    metrics.response(status).inc();
    metrics.latency_ms.observe(std::chrono::duration<double, std::milli>(at - started).count());
  };
  if (request_.method == "CONNECT") {
    route.local_status = 501;
    route.local_reason = "CONNECT is not supported";
  }
  if (route.local_status != 0) {
    record(route.local_status);
    client_buffer_.consume(request_head_size_);
    co_return co_await respond_locally(route.local_status, route.local_reason,
                                       !facts.keep_alive || !request_body_done_);
  }

  request_head_bytes_.clear();
  http1::write_request_head(request_head_bytes_, request_,
                            {.body = facts.body, .content_length = facts.content_length},
                            destination_text_);
  client_buffer_.consume(request_head_size_);  // request_'s views are invalid from here
  request_decoder_.reset(facts.body, facts.content_length);

  const proxyconfig::Retry* retry = route.rule && route.rule->retry ? &*route.rule->retry : nullptr;
  replay_body_.clear();  // (a previous request's body must never be sent again)
  bool replayable = facts.body == http1::BodyKind::kNone;
  if (retry && facts.body == http1::BodyKind::kContentLength &&
      facts.content_length <= kMaxReplayBody && !facts.expect_continue) {
    const bool read = co_await read_replay_body();
    if (!read) {
      if (!replay_body_malformed_) co_return false;
      record(400);
      co_return co_await respond_locally(400, "malformed request body", true);
    }
    replayable = true;
    request_body_done_ = true;
  }
  if (route.budget) route.budget->on_request(started);
  std::optional<Clock::time_point> request_deadline;
  if (route.rule && route.rule->request_timeout) {
    request_deadline = started + *route.rule->request_timeout;
  }

  http1::ResponseHead& response = response_;
  std::size_t head_size = 0;
  std::uint32_t retries_left = retry ? retry->attempts : 0;
  std::uint32_t retries_done = 0;
  bool stale_retry_used = false;
  bool body_started = false;
  TryFailure failure = TryFailure::kNone;
  std::shared_ptr<EndpointState> endpoint;
  // Clock reads are few: the first try starts when the request does, and
  // the end of a try is when its outcome and the response are recorded.
  Clock::time_point try_started = started;
  Clock::time_point try_ended = started;
  while (true) {
    if (retries_done > 0 || stale_retry_used) try_started = Clock::now();
    tcp::endpoint address = target_.destination;
    if (route.backend != nullptr) {
      endpoint =
          route.balancer ? route.balancer->pick(worker_.routes.random(), try_started) : nullptr;
      if (!endpoint) {
        record(503);
        co_return co_await respond_locally(503, "no endpoint available",
                                           !facts.keep_alive || !request_body_done_);
      }
      address = endpoint->address;
      ++endpoint->in_flight;
    }
    try_limit_.reset();
    if (route.rule && route.rule->backend_request_timeout) {
      try_limit_ = *route.rule->backend_request_timeout;
    }
    if (request_deadline) {
      const auto remaining = std::max(Clock::duration::zero(), *request_deadline - try_started);
      if (!try_limit_ || remaining < *try_limit_) try_limit_ = remaining;
    }
    failure = co_await send_try(address, facts, replayable, response, head_size, body_started);
    try_ended = Clock::now();
    // The try's socket may be destroyed below (a retry): the deadline must
    // not fire on it later.
    upstream_deadline_.disarm();
    if (endpoint) --endpoint->in_flight;
    const bool request_timed_out = request_deadline && try_ended >= *request_deadline;

    bool retryable_failure = false;
    std::optional<proxyconfig::RetryCondition> condition;
    if (failure == TryFailure::kNone) {
      if (route.balancer && endpoint) {
        if (response.status >= 500) {
          route.balancer->on_failure(*endpoint, try_ended);
        } else {
          route.balancer->on_success(
              *endpoint, std::chrono::duration<double, std::milli>(try_ended - try_started).count(),
              try_ended);
        }
      }
      retryable_failure = retry && std::find(retry->codes.begin(), retry->codes.end(),
                                             response.status) != retry->codes.end();
    } else {
      if (route.balancer && endpoint && failure != TryFailure::kClientGone) {
        route.balancer->on_failure(*endpoint, try_ended);
      }
      if (failure == TryFailure::kClientGone) co_return false;
      if (failure == TryFailure::kBadRequestBody) {
        upstream_.reset();  // the upstream saw part of a request: never reuse it
        record(400);
        co_return co_await respond_locally(400, "malformed request body", true);
      }
      // A pooled connection the server closed while idle: try once more on a
      // new one, outside the retry policy (the request was not processed).
      if (failure == TryFailure::kReset && upstream_ && upstream_->reused && !stale_retry_used &&
          (replayable || !body_started)) {
        stale_retry_used = true;
        upstream_.reset();
        continue;
      }
      if (failure == TryFailure::kConnect) condition = proxyconfig::RetryCondition::kConnectFailure;
      if (failure == TryFailure::kReset) condition = proxyconfig::RetryCondition::kReset;
      if (failure == TryFailure::kTimeout) condition = proxyconfig::RetryCondition::kTimeout;
      retryable_failure = retry && condition &&
                          std::find(retry->conditions.begin(), retry->conditions.end(),
                                    *condition) != retry->conditions.end();
    }
    // Only a request the proxy can send again, and only a connect failure
    // for a streamed body (nothing of it was sent).
    const bool can_replay = replayable || (failure == TryFailure::kConnect && !body_started);
    if (retryable_failure && can_replay && retries_left > 0 && !request_timed_out) {
      if (route.budget && !route.budget->try_withdraw(try_ended)) {
        metrics.budget_exhausted.inc();
      } else {
        --retries_left;
        ++retries_done;
        metrics.retries.inc();
        upstream_.reset();  // a retried response's connection is not reused
        // Exponential backoff with full jitter.
        const auto ceiling = retry->backoff * (std::int64_t{1} << std::min(retries_done - 1, 10u));
        if (ceiling.count() > 0) {
          const auto wait = std::chrono::milliseconds(
              worker_.routes.random()() % static_cast<std::uint64_t>(ceiling.count() + 1));
          Timer timer(client_.get_executor());
          timer.expires_after(wait);
          error_code ignored;
          co_await timer.async_wait(redirect(ignored));
        }
        continue;
      }
    }
    break;
  }
  upstream_deadline_.disarm();

  if (failure != TryFailure::kNone) {
    upstream_.reset();
    const bool timeout = failure == TryFailure::kTimeout;
    const int status = timeout ? 504 : 502;
    record(status);
    const std::string_view reason =
        timeout                               ? "the upstream did not answer in time"
        : failure == TryFailure::kConnect     ? "cannot connect to the upstream"
        : failure == TryFailure::kBadResponse ? "the upstream's response was malformed"
                                              : "the upstream closed the connection";
    co_return co_await respond_locally(status, reason,
                                       !facts.keep_alive || !request_body_done_ || body_started);
  }
  record(response.status, try_ended);

  if (response.status == 101) {
    co_await finish_request_pump(true);   // a request with a body does not upgrade
    if (!facts.upgrade) co_return false;  // an upgrade nobody asked for
    response_head_bytes_.clear();
    http1::write_response_head(response_head_bytes_, response, {}, facts.minor_version);
    upstream_->buffer.consume(head_size);
    const bool written = co_await write_client(response_head_bytes_);
    if (!written) co_return false;
    const TunnelBytes tunneled = co_await tunnel(client_, client_buffer_.data(), upstream_->socket,
                                                 upstream_->buffer.data());
    bytes_.read += tunneled.a_to_b;
    bytes_.written += tunneled.b_to_a;
    co_return false;
  }

  bool client_keep_alive =
      facts.keep_alive && request_body_done_ && !runtime_.draining.load(std::memory_order_relaxed);
  http1::Framing framing{.body = response.body, .content_length = response.content_length};
  if (response.body == http1::BodyKind::kChunked || response.body == http1::BodyKind::kUntilClose) {
    if (facts.minor_version >= 1) {
      framing.body = http1::BodyKind::kChunked;
    } else {
      framing.body = http1::BodyKind::kUntilClose;
      client_keep_alive = false;  // HTTP/1.0 knows no chunks: the end is the close
    }
  }
  framing.close = !client_keep_alive;
  response_head_bytes_.clear();
  http1::write_response_head(response_head_bytes_, response, framing, facts.minor_version);
  const bool upstream_keep_alive = response.keep_alive;
  upstream_->buffer.consume(head_size);  // response's views are invalid from here
  response_decoder_.reset(response.body, response.content_length);
  if (request_deadline) {
    upstream_deadline_.arm(upstream_->socket,
                           std::max(Clock::duration::zero(), *request_deadline - Clock::now()));
  }
  std::uint64_t upstream_bytes = 0;
  const bool streamed =
      co_await pump_body(upstream_->socket, upstream_->buffer, response_decoder_, client_,
                         framing.body, response_head_bytes_, upstream_bytes, bytes_.written,
                         response_scratch_) == PumpResult::kDone;
  upstream_deadline_.disarm();
  // An upstream that answered before reading the whole request body: the rest
  // of the body is not waited for (the client connection closes, as its
  // response said). (Checked here first: most requests have no pump, and a
  // call costs a coroutine frame.)
  if (request_pump_running_) co_await finish_request_pump(true);
  if (streamed && upstream_keep_alive && response_decoder_.done() && request_body_done_) {
    worker_.pool.put(std::move(upstream_));
  }
  upstream_.reset();
  co_return streamed&& client_keep_alive;
}

awaitable<ConnectionBytes> Session::run() {
  // (No co_await inside a condition: GCC 12 miscompiles some of those.)
  while (true) {
    const bool have_request = co_await read_request_head();
    if (!have_request) break;
    const bool keep_going = co_await handle_request();
    route_ = {};  // an idle connection keeps no configuration alive
    if (!keep_going) break;
  }
  co_return bytes_;
}

}  // namespace

awaitable<ConnectionBytes> serve_http1(Worker& worker, Socket& client, ReadBuffer& buffer,
                                       ConnectionTarget target) {
  Session session(worker, client, buffer, target);
  co_return co_await session.run();
}

}  // namespace weft::proxy
