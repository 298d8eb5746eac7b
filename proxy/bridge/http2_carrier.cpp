#include "proxy/bridge/http2_carrier.h"

#include "proxy/bridge/head_translation.h"
#include "proxy/http1/head_writer.h"
#include "proxy/http1/syntax.h"

namespace weft::proxy::bridge {
namespace {

// The response body is taken from its pipe in pieces of this size, each
// framed and written before the next is taken: the peer's window reopens
// only as the client's socket takes the bytes.
constexpr std::size_t kRelayPiece = 16 * 1024;

}  // namespace

Http2Carrier::Http2Carrier(http2::ClientPool& pool, http1::Downstream downstream,
                           const CarrierSettings& settings)
    : pool_(pool),
      downstream_(downstream),
      settings_(settings),
      body_deadline_(downstream.socket.get_executor()),
      pump_wake_(downstream.socket.get_executor()),
      pump_(downstream.socket.get_executor()),
      response_wake_(downstream.socket.get_executor()) {}

Http2Carrier::~Http2Carrier() {
  detach_pipe();
}

void Http2Carrier::detach_pipe() {
  // The pipes may outlive this request (the HTTP/2 connection keeps a closed
  // stream's): their callbacks must not reach this carrier any more.
  if (exchange_) {
    exchange_->request_body.on_taken = nullptr;
    exchange_->request_body.on_cancelled = nullptr;
  }
}

bool Http2Carrier::start(const http1::RequestHead& head, const http1::RequestFacts& facts,
                         std::string_view destination_text) {
  upstream_.reset();
  detach_pipe();
  facts_ = facts;
  if (!http1_request_to_http2(head, destination_text, head_) ||
      !acceptable_as_http2(head_, settings_.max_header_list_size)) {
    return false;
  }
  exchange_ = std::make_shared<http2::Exchange>();
  http2::BodyPipe& pipe = exchange_->request_body;
  pipe.on_taken = [this](std::size_t) { pump_wake_.notify(); };
  pipe.on_cancelled = [this] { pump_wake_.notify(); };
  if (facts.body == http1::BodyKind::kNone) pipe.end();
  decoder_.reset(facts.body, facts.content_length);
  kept_ = false;
  kept_body_.clear();
  status_ = 0;
  continue_sent_ = false;
  body_timed_out_ = false;
  body_taken_ = false;
  pump_result_ = facts.body == http1::BodyKind::kNone ? PumpResult::kDone : PumpResult::kStopped;
  return true;
}

void Http2Carrier::use_kept_body(const std::string& body) {
  kept_body_ = body;
}

bool Http2Carrier::request_body_done() const {
  return kept_ || facts_.body == http1::BodyKind::kNone || pump_result_ == PumpResult::kDone;
}

awaitable<bool> Http2Carrier::write_client(std::string_view bytes) {
  error_code ec;
  co_await asio::async_write(downstream_.socket, asio::buffer(bytes), redirect(ec));
  downstream_.bytes_written += bytes.size();
  co_return !ec;
}

awaitable<TryFailure> Http2Carrier::send_try(const tcp::endpoint& address,
                                             std::string_view identity,
                                             const RequestTimeouts& timeouts, bool replayable,
                                             bool& body_started) {
  const bool has_body = facts_.body != http1::BodyKind::kNone;
  if (!upstream_) {
    upstream_.emplace(pool_, downstream_.socket.get_executor(), exchange_, head_, has_body,
                      settings_.upstream);
  }
  status_ = 0;
  const bool streamed = has_body && !replayable;
  if (has_body && replayable && !kept_) {
    upstream_->keep_body(std::move(kept_body_));
    kept_ = true;
  }
  if (streamed && !pump_.running() && pump_result_ != PumpResult::kDone) {
    if (facts_.expect_continue && !continue_sent_ && facts_.minor_version >= 1) {
      continue_sent_ = true;
      const bool written = co_await write_client("HTTP/1.1 100 Continue\r\n\r\n");
      if (!written) co_return TryFailure::kClientGone;
    }
    pump_stop_ = false;
    pump_result_ = PumpResult::kRunning;
    pump_.spawn(run_request_pump());
  }
  TryFailure failure =
      co_await upstream_->send_try(address, identity, timeouts, replayable, body_started);
  if (failure == TryFailure::kNone) {
    status_ = upstream_->response_status();
    // A head HTTP/1 cannot carry is the peer's fault, as a malformed one is.
    out_.clear();
    Http1ResponseOut checked;
    if (!http2_response_to_http1(upstream_->stream()->head, {.client_minor_version = 1}, checked,
                                 out_)) {
      upstream_->drop_connection();
      failure = TryFailure::kBadResponse;
    } else {
      co_return failure;  // the body may still be streaming to the peer
    }
  }
  // No response: the body's reader stops (a next try restarts it where it
  // stopped: the pipe and the decoder keep their place).
  if (pump_.running()) co_await finish_request_pump();
  if (pump_result_ == PumpResult::kMalformed) co_return TryFailure::kBadRequestBody;
  if (pump_result_ == PumpResult::kClientGone) co_return TryFailure::kClientGone;
  co_return failure;
}

awaitable<void> Http2Carrier::run_request_pump() {
  http2::BodyPipe& pipe = exchange_->request_body;
  ReadBuffer& in = downstream_.buffer;
  while (true) {
    while (!in.empty() && !decoder_.done()) {
      const http1::BodyDecoder::Step step = decoder_.decode(in.data());
      if (step.error.status != 0) {
        pump_result_ = PumpResult::kMalformed;
        pipe.abort();
        co_return;
      }
      pipe.append(step.data);
      in.consume(step.consumed);
      body_taken_ = true;
      if (step.consumed == 0) break;
    }
    if (decoder_.done()) {
      http2::HeaderList trailers;
      http1_trailers_to_http2(decoder_.trailers(), trailers);
      pipe.end(std::move(trailers));
      pump_result_ = PumpResult::kDone;
      co_return;
    }
    // Backpressure: no more is read while the peer has not taken this much.
    while (!pump_stop_ && !pipe.cancelled() && !pipe.aborted() && pipe.buffered() >= kPipeLimit) {
      co_await pump_wake_.wait();
    }
    if (pump_stop_ || pipe.cancelled() || pipe.aborted()) {
      pump_result_ = PumpResult::kStopped;
      co_return;
    }
    error_code ec;
    body_deadline_.arm(downstream_.socket, settings_.body_idle_timeout);
    const std::size_t n = co_await downstream_.socket.async_read_some(in.prepare(), redirect(ec));
    body_deadline_.disarm();
    if (ec && pump_stop_) {
      pump_result_ = PumpResult::kStopped;
      co_return;
    }
    if (ec) {
      if (body_deadline_.expired()) {
        body_timed_out_ = true;
        if (settings_.body_idle_timeouts != nullptr) settings_.body_idle_timeouts->inc();
      }
      pump_result_ = PumpResult::kClientGone;
      pipe.abort();
      co_return;
    }
    in.commit(n);
    downstream_.bytes_read += n;
  }
}

awaitable<void> Http2Carrier::finish_request_pump() {
  if (pump_.running()) {
    pump_stop_ = true;
    pump_wake_.notify();
    error_code ignored;
    downstream_.socket.cancel(ignored);
  }
  return pump_.join();
}

awaitable<bool> Http2Carrier::relay_response(bool keep_alive, const RequestTimeouts& timeouts) {
  const std::shared_ptr<http2::ClientStream> stream = upstream_->stream();
  upstream_->release();
  http2::BodyPipe& body = *stream->response;
  out_.clear();
  Http1ResponseOut response;
  http2_response_to_http1(stream->head,
                          {.client_minor_version = facts_.minor_version,
                           .head_request = facts_.is_head,
                           .end_at_head = stream->end_at_head,
                           .keep_alive = keep_alive},
                          response, out_);
  bool complete = true;
  if (response.body == http1::BodyKind::kNone) {
    if (!body.finished()) body.cancel();  // (a HEAD's, a 204's, a 304's: nothing to relay)
  } else {
    body.on_readable = [this] { response_wake_.notify(); };
    const bool chunked = response.body == http1::BodyKind::kChunked;
    std::uint64_t left =
        http1::parse_content_length(stream->head.find("content-length")).value_or(0);
    const auto until = timeouts.deadline.value_or(Clock::time_point::max());
    while (true) {
      // Straight from the pipe into the client's bytes: no buffer between
      // (a 16 KiB one zeroed per response cost more than the rest of the relay).
      const std::size_t n = std::min(body.buffered(), kRelayPiece);
      if (n > 0) {
        std::size_t keep = n;
        if (response.body == http1::BodyKind::kContentLength) {
          keep = static_cast<std::size_t>(std::min<std::uint64_t>(n, left));  // never past it
          left -= keep;
        }
        if (keep > 0) {
          if (chunked) http1::write_chunk_header(out_, keep);
          body.take_into(out_, keep);
          if (chunked) out_ += http1::kChunkEnd;
        }
        body.drop(n - keep);  // past the declared length: dropped
      }
      if (body.finished()) {
        if (chunked) {
          http2_trailers_to_http1(body.trailers(), trailers_);
          http1::write_last_chunk(out_, trailers_);
        }
        complete = response.body != http1::BodyKind::kContentLength || left == 0;
        break;
      }
      if (body.aborted() || Clock::now() >= until) {
        complete = false;  // cut short: the client sees the connection end
        break;
      }
      if (n > 0 && out_.size() < kRelayPiece) continue;
      if (!out_.empty()) {
        const bool written = co_await write_client(out_);
        out_.clear();
        if (!written) {
          complete = false;
          break;
        }
      }
      if (n == 0) co_await response_wake_.wait(until);
    }
    body.on_readable = nullptr;
    if (!complete && !body.finished()) body.cancel();
  }
  bool written = true;
  if (!out_.empty()) written = co_await write_client(out_);
  out_.clear();
  // Answered before the whole request body came: the rest is not waited for.
  if (pump_.running()) co_await finish_request_pump();
  co_return written&& complete && !response.close && request_body_done();
}

}  // namespace weft::proxy::bridge
