#include "proxy/http1/server.h"

#include <array>
#include <optional>

#include "proxy/core/deadline.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/http1/body_pump.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"
#include "proxy/layers/admission.h"
#include "proxy/layers/balancing.h"
#include "proxy/layers/connection.h"
#include "proxy/layers/retries.h"
#include "proxy/layers/routing.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/outcome.h"
#include "proxy/tcp/tunnel.h"

namespace weft::proxy {
namespace {

using namespace std::chrono_literals;

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

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

using http1::pump_body;
using http1::PumpResult;
using http1::PumpScratch;

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
  // Admission and routing of the parsed request_, into route_ (a plain
  // function: the protocol-neutral view stays out of the coroutine frame).
  void plan_request();
  awaitable<bool> respond_locally(int status, std::string_view reason, bool close);
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
  RequestTimeouts timeouts_;       // the current request's
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

void Session::plan_request() {
  const Request request = http1::to_request(request_);
  const std::optional<LocalAnswer> refused = admit(request);
  // Routed even when refused: the route labels the request's metrics.
  route_ = plan_route(worker_.routes, target_, destination_text_, request);
  if (refused) route_.local = *refused;
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
  if (!upstream_) {
    // Bounded by the request's deadline too: a connect that outlives it is a timeout.
    const ConnectLimit limit =
        connect_limit(runtime_.settings.connect_timeout, timeouts_, Clock::now());
    upstream_ = co_await connect_upstream(client_.get_executor(), address, upstream_deadline_,
                                          limit, failure);
  }
  if (!upstream_) co_return failure;
  // The try's limit runs from here (the connection is ready), cut at the deadline.
  const auto expiry =
      try_expiry(timeouts_, try_expiry_needs_now(timeouts_) ? Clock::now() : Clock::time_point{});
  if (expiry) upstream_deadline_.arm_until(upstream_->socket, *expiry);
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
  plan_request();
  RouteMetrics& metrics = route_metrics(route.target_label, route.route_label);
  metrics.requests.inc();
  const auto record = [&](int status, Clock::time_point at = Clock::now()) {
    metrics.response(status).inc();
    metrics.latency_ms.observe(std::chrono::duration<double, std::milli>(at - started).count());
  };
  if (route.local.status != 0) {
    record(route.local.status);
    client_buffer_.consume(request_head_size_);
    co_return co_await respond_locally(route.local.status, route.local.reason,
                                       !facts.keep_alive || !request_body_done_);
  }

  request_head_bytes_.clear();
  http1::write_request_head(request_head_bytes_, request_,
                            {.body = facts.body, .content_length = facts.content_length},
                            destination_text_);
  client_buffer_.consume(request_head_size_);  // request_'s views are invalid from here
  request_decoder_.reset(facts.body, facts.content_length);

  const proxyconfig::Retry* retry = route.retry();
  replay_body_.clear();  // (a previous request's body must never be sent again)
  TryResult result;
  result.replayable = facts.body == http1::BodyKind::kNone;
  if (should_keep_body(retry, facts.body == http1::BodyKind::kContentLength, facts.content_length,
                       facts.expect_continue)) {
    const bool read = co_await read_replay_body();
    if (!read) {
      if (!replay_body_malformed_) co_return false;
      record(400);
      co_return co_await respond_locally(400, "malformed request body", true);
    }
    result.replayable = true;
    request_body_done_ = true;
  }
  if (route.budget) route.budget->on_request(started);
  timeouts_ = request_timeouts(route.rule, started);

  http1::ResponseHead& response = response_;
  std::size_t head_size = 0;
  std::uint32_t retries_done = 0;
  bool stale_retry_used = false;
  std::shared_ptr<EndpointState> endpoint;
  // Clock reads are few: the first try starts when the request does, and
  // the end of a try is when its outcome and the response are recorded.
  Clock::time_point try_started = started;
  Clock::time_point try_ended = started;
  while (true) {
    if (retries_done > 0 || stale_retry_used) try_started = Clock::now();
    tcp::endpoint address = target_.destination;
    if (route.backend != nullptr) {
      endpoint = route.balancer
                     ? choose_endpoint(*route.balancer, worker_.routes.random(), try_started)
                     : nullptr;
      if (!endpoint) {
        record(503);
        co_return co_await respond_locally(503, "no endpoint available",
                                           !facts.keep_alive || !request_body_done_);
      }
      address = endpoint->address;
    }
    result.failure = co_await send_try(address, facts, result.replayable, response, head_size,
                                       result.body_started);
    result.status = result.failure == TryFailure::kNone ? response.status : 0;
    try_ended = Clock::now();
    // The try's socket may be destroyed below (a retry): the deadline must
    // not fire on it later.
    upstream_deadline_.disarm();
    if (endpoint) {
      report_try(*route.balancer, *endpoint,
                 {.failure = result.failure,
                  .status = result.status,
                  .client_body_unfinished = !request_body_done_,
                  .reused_connection = upstream_ && upstream_->reused},
                 try_started, try_ended);
    }
    if (result.failure == TryFailure::kClientGone) co_return false;
    if (result.failure == TryFailure::kBadRequestBody) {
      upstream_.reset();  // the upstream saw part of a request: never reuse it
      record(400);
      co_return co_await respond_locally(400, "malformed request body", true);
    }
    if (retry_on_new_connection(result, upstream_ && upstream_->reused, stale_retry_used)) {
      stale_retry_used = true;
      upstream_.reset();
      continue;
    }
    const RetryDecision decision = decide_retry(retry, result, retries_done, route.budget.get(),
                                                worker_.routes.random(), timeouts_, try_ended);
    if (decision.verdict == RetryVerdict::kBudgetExhausted) metrics.budget_exhausted.inc();
    if (decision.verdict != RetryVerdict::kRetry && decision.verdict != RetryVerdict::kDeadline) {
      break;
    }
    upstream_.reset();  // a retried response's connection is not reused
    if (decision.backoff.count() > 0) {
      Timer timer(client_.get_executor());
      timer.expires_after(decision.backoff);
      error_code ignored;
      co_await timer.async_wait(redirect(ignored));
    }
    if (decision.verdict == RetryVerdict::kDeadline) {
      result.failure = TryFailure::kTimeout;  // the deadline passed during the backoff
      break;
    }
    ++retries_done;
    metrics.retries.inc();
  }
  upstream_deadline_.disarm();

  if (result.failure != TryFailure::kNone) {
    upstream_.reset();
    const LocalAnswer answer = failure_status(result.failure);
    record(answer.status);
    co_return co_await respond_locally(
        answer.status, answer.reason,
        !facts.keep_alive || !request_body_done_ || result.body_started);
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
  if (timeouts_.deadline) upstream_deadline_.arm_until(upstream_->socket, *timeouts_.deadline);
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
