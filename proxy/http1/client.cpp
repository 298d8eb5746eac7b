#include "proxy/http1/client.h"

#include <array>

#include "proxy/http1/head_writer.h"

namespace weft::proxy::http1 {
namespace {

// Leaves the try's time limit disarmed however the try ends: its socket may
// be destroyed next (a retry), and the limit must not fire on it later.
struct DisarmOnExit {
  Deadline& deadline;
  ~DisarmOnExit() { deadline.disarm(); }
};

}  // namespace

RequestFacts facts_of(const RequestHead& head) {
  return {.is_head = head.method == "HEAD",
          .keep_alive = head.keep_alive,
          .upgrade = head.upgrade,
          .expect_continue = head.expect_continue,
          .minor_version = head.minor_version,
          .body = head.body,
          .content_length = head.content_length};
}

Client::Client(UpstreamPool& pool, Downstream downstream, const ClientLimits& limits)
    : pool_(pool),
      downstream_(downstream),
      limits_(limits),
      body_deadline_(downstream.socket.get_executor()),
      upstream_deadline_(downstream.socket.get_executor()),
      max_interim_responses_(limits.max_interim_responses),
      request_pump_(downstream.socket.get_executor()) {}

void Client::start(const RequestHead& head, const RequestFacts& facts,
                   std::string_view destination_text) {
  facts_ = facts;
  upstream_.reset();
  new_connection_next_ = false;
  request_head_bytes_.clear();
  write_request_head(request_head_bytes_, head,
                     {.body = facts.body, .content_length = facts.content_length},
                     destination_text);
  replay_body_.clear();  // (a previous request's body must never be sent again)
  request_decoder_.reset(facts.body, facts.content_length);
  request_body_done_ = facts.body == BodyKind::kNone;
  interim_responses_ = 0;
  interim_limit_hit_ = false;
  body_timed_out_ = false;
}

void Client::note_body_timeout() {
  body_timed_out_ = true;
  if (limits_.body_idle_timeouts != nullptr) limits_.body_idle_timeouts->inc();
}

awaitable<bool> Client::write_downstream(std::string_view bytes) {
  error_code ec;
  co_await asio::async_write(downstream_.socket, asio::buffer(bytes), redirect(ec));
  downstream_.bytes_written += bytes.size();
  co_return !ec;
}

awaitable<Client::KeptBody> Client::keep_body() {
  ReadBuffer& in = downstream_.buffer;
  while (!request_decoder_.done()) {
    while (!in.empty() && !request_decoder_.done()) {
      const BodyDecoder::Step step = request_decoder_.decode(in.data());
      if (step.error.status != 0) co_return KeptBody::kMalformed;
      replay_body_ += step.data;
      in.consume(step.consumed);
      if (step.consumed == 0) break;
    }
    if (request_decoder_.done()) break;
    error_code ec;
    body_deadline_.arm(downstream_.socket, limits_.body_idle_timeout);
    const std::size_t n = co_await downstream_.socket.async_read_some(in.prepare(), redirect(ec));
    body_deadline_.disarm();
    if (ec && body_deadline_.expired()) {
      note_body_timeout();
      co_return KeptBody::kTimedOut;
    }
    if (ec) co_return KeptBody::kClientGone;
    in.commit(n);
    downstream_.bytes_read += n;
  }
  request_body_done_ = true;
  co_return KeptBody::kKept;
}

awaitable<TryFailure> Client::read_response_head() {
  UpstreamConnection& upstream = *upstream_;
  const std::string_view method = facts_.is_head ? "HEAD" : "GET";
  response_parser_.reset();
  while (true) {
    if (!upstream.buffer.empty()) {
      const ParseResult result =
          response_parser_.parse_response(upstream.buffer.data(), method, response_);
      if (result.status == ParseStatus::kError) co_return TryFailure::kBadResponse;
      if (result.status == ParseStatus::kComplete) {
        if (!response_.is_interim()) {
          head_size_ = result.consumed;
          co_return TryFailure::kNone;
        }
        // 100 Continue, 103 Early Hints: pass on to HTTP/1.1 clients, then
        // wait for the final response; a bounded number of them.
        if (++interim_responses_ > max_interim_responses_) {
          interim_limit_hit_ = true;
          co_return TryFailure::kBadResponse;
        }
        if (facts_.minor_version >= 1) {
          interim_bytes_.clear();
          write_response_head(interim_bytes_, response_, {}, 1);
          const bool written = co_await write_downstream(interim_bytes_);
          if (!written) co_return TryFailure::kClientGone;
        }
        upstream.buffer.consume(result.consumed);
        response_parser_.reset();
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
    response_started_ = true;
  }
}

void Client::next_try_on_new_connection() {
  upstream_.reset();
  new_connection_next_ = true;
  if (limits_.new_connection_retries != nullptr) limits_.new_connection_retries->inc();
}

awaitable<TryFailure> Client::send_try(const tcp::endpoint& address,
                                       std::string_view expected_identity,
                                       const RequestTimeouts& timeouts, bool replayable,
                                       bool& body_started) {
  const DisarmOnExit disarm{upstream_deadline_};
  TryFailure failure = TryFailure::kNone;
  response_started_ = false;
  // A pooled connection first, without a coroutine frame for connect().
  // A meshed endpoint is reached over mTLS only (never a plain connection).
  const std::string_view identity = limits_.tls == nullptr ? std::string_view() : expected_identity;
  if (!new_connection_next_) upstream_ = pool_.take(address, Clock::now(), identity);
  new_connection_next_ = false;
  if (!upstream_) {
    // Bounded by the request's deadline too: a connect that outlives it is a timeout.
    const ConnectLimit limit = connect_limit(limits_.connect_timeout, timeouts, Clock::now());
    const UpstreamTls tls{.context = identity.empty() || limits_.tls == nullptr
                                         ? nullptr
                                         : limits_.tls->get(TlsRole::kClient),
                          .identity = identity,
                          .metrics = limits_.tls_metrics};
    upstream_ = co_await connect_upstream(downstream_.socket.get_executor(), address,
                                          upstream_deadline_, limit, failure, tls);
  }
  if (!upstream_) co_return failure;
  // The try's limit runs from here (the connection is ready), cut at the deadline.
  const auto expiry =
      try_expiry(timeouts, try_expiry_needs_now(timeouts) ? Clock::now() : Clock::time_point{});
  if (expiry) upstream_deadline_.arm_until(upstream_->socket, *expiry);
  response_wait_ = timeouts.response_wait;
  awaiting_response_head_ = true;
  const struct HeadArrived {
    bool& awaiting;
    ~HeadArrived() { awaiting = false; }
  } head_arrived{awaiting_response_head_};
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
    arm_response_wait();
    co_return co_await read_response_head();
  }
  // Streaming body: after this point the try cannot be repeated. With
  // `Expect: 100-continue` too, body bytes go on as soon as the client sends
  // them: a client need not wait for the 100 (curl waits one second), and an
  // upstream need not send one, so holding them back for it could deadlock.
  // A 100 the upstream does send is relayed while the response is awaited.
  body_started = true;
  start_request_pump(request_head_bytes_);
  failure = co_await read_response_head();
  if (failure == TryFailure::kNone) co_return failure;  // the pump may still be sending
  // No response: the pump's own failure explains it best.
  co_await finish_request_pump();
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

void Client::arm_response_wait() {
  if (response_wait_ && awaiting_response_head_ && upstream_) {
    upstream_deadline_.arm(upstream_->socket, *response_wait_);
  }
}

void Client::start_request_pump(std::string_view prefix) {
  request_pump_stop_ = false;
  request_pump_abandoned_ = false;
  request_pump_.spawn(run_request_pump(prefix));
}

awaitable<void> Client::run_request_pump(std::string_view prefix) {
  std::uint64_t body_bytes = 0;
  request_pump_result_ = co_await pump_body(
      downstream_.socket, downstream_.buffer, request_decoder_, upstream_->socket, facts_.body,
      prefix, downstream_.bytes_read, body_bytes, request_scratch_, &request_pump_stop_,
      {.deadline = &body_deadline_, .limit = limits_.body_idle_timeout});
  if (request_pump_result_ == PumpResult::kDone) {
    request_body_done_ = true;
    arm_response_wait();
  } else if (request_pump_result_ != PumpResult::kSinkFailed) {
    if (request_pump_result_ == PumpResult::kSourceFailed && body_deadline_.expired()) {
      note_body_timeout();
    }
    // The client broke off or sent a malformed body: wake the response read.
    request_pump_abandoned_ = true;
    error_code ignored;
    upstream_->socket.cancel(ignored);
  }
}

// (Not a coroutine itself: the join is the only frame.)
awaitable<void> Client::finish_request_pump(PumpEnd end) {
  if (request_pump_.running()) {
    request_pump_stop_ = true;
    error_code ignored;
    downstream_.socket.cancel(ignored);
    if (end == PumpEnd::kKeepUpstream) {
      upstream_->socket.cancel(ignored);
    } else {
      upstream_->socket.close(ignored);
    }
  }
  return request_pump_.join();
}

awaitable<bool> Client::relay_response(BodyKind out_kind, std::string_view head,
                                       const RequestTimeouts& timeouts) {
  const bool upstream_keep_alive = response_.keep_alive;
  upstream_->buffer.consume(head_size_);  // response_'s views are invalid from here
  response_decoder_.reset(response_.body, response_.content_length);
  if (timeouts.deadline) upstream_deadline_.arm_until(upstream_->socket, *timeouts.deadline);
  std::uint64_t upstream_bytes = 0;
  const bool streamed =
      co_await pump_body(upstream_->socket, upstream_->buffer, response_decoder_,
                         downstream_.socket, out_kind, head, upstream_bytes,
                         downstream_.bytes_written, response_scratch_) == PumpResult::kDone;
  upstream_deadline_.disarm();
  // An upstream that answered before reading the whole request body: the rest
  // of the body is not waited for (the client connection closes, as its
  // response said). (Checked here first: most requests have no pump, and a
  // call costs a coroutine frame.)
  if (request_pump_.running()) co_await finish_request_pump();
  if (streamed && upstream_keep_alive && response_decoder_.done() && request_body_done_) {
    pool_.put(std::move(upstream_), Clock::now());
  }
  upstream_.reset();
  co_return streamed;
}

awaitable<UpstreamConnection*> Client::upgrade() {
  // (a request with a body does not upgrade)
  co_await finish_request_pump(PumpEnd::kKeepUpstream);
  if (!upstream_) co_return nullptr;
  upstream_->buffer.consume(head_size_);
  co_return upstream_.get();
}

}  // namespace weft::proxy::http1
