#include "proxy/bridge/http1_sender.h"

#include "proxy/http1/body_decoder.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"
#include "proxy/http2/signal.h"

namespace weft::proxy::bridge {

// One try's connection to the app and what its two body coroutines share.
struct AppCall {
  AppCall(const Executor& executor, UpstreamPool& pool)
      : pool(pool), deadline(executor), request_wake(executor), response_wake(executor) {}

  UpstreamPool& pool;
  std::unique_ptr<UpstreamConnection> connection;
  Deadline deadline;  // the try's limit, then the wait for the head
  http2::Signal request_wake;
  http2::Signal response_wake;
  std::shared_ptr<http2::ClientStream> stream = make_recycled<http2::ClientStream>();
  bool abandoned = false;      // the try is over: everything stops, the connection closes
  bool awaiting_head = false;  // the response head is still read
  std::optional<Clock::duration> response_wait;
  bool request_pump_running = false;
  bool request_sent = false;    // the whole request went out
  bool client_aborted = false;  // the client's request body broke off
  bool response_pump_running = false;
  bool response_done = false;  // the whole response body went into the pipe
  bool keep_alive = false;     // the app keeps the connection
  http1::HeadParser parser;
  http1::ResponseHead response;
  http1::BodyDecoder decoder;
};

namespace {

// Pieces taken from a pipe and written at once.
constexpr std::size_t kPiece = 16 * 1024;

void cancel_socket(AppCall& call) {
  if (!call.connection) return;
  error_code ignored;
  call.connection->socket.cancel(ignored);
}

// Both bodies went whole and the app keeps the connection: back to the pool.
void pool_if_clean(AppCall& call) {
  if (call.abandoned || call.request_pump_running || call.response_pump_running ||
      !call.request_sent || !call.response_done || !call.keep_alive || !call.connection) {
    return;
  }
  call.deadline.disarm();
  call.pool.put(std::move(call.connection), Clock::now());
}

void arm_response_wait(AppCall& call) {
  if (call.awaiting_head && call.response_wait && call.connection) {
    call.deadline.arm(call.connection->socket, *call.response_wait);
  }
}

awaitable<void> send_request_body(std::shared_ptr<AppCall> call,
                                  std::shared_ptr<http2::BodyPipe> request, std::string head,
                                  bool chunked) {
  AppCall& state = *call;
  http2::BodyPipe& pipe = *request;
  const std::weak_ptr<AppCall> weak = call;
  pipe.on_readable = [weak] {
    if (const auto alive = weak.lock()) alive->request_wake.notify();
  };
  std::string out = std::move(head);
  std::string trailers;
  bool sent = false;
  while (!state.abandoned) {
    // Straight from the pipe into the bytes for the app: no buffer between.
    const std::size_t n = std::min(pipe.buffered(), kPiece);
    if (n > 0) {
      if (chunked) http1::write_chunk_header(out, n);
      pipe.take_into(out, n);
      if (chunked) out += http1::kChunkEnd;
    }
    const bool finished = pipe.finished();
    if (finished && chunked) {
      http2_trailers_to_http1(pipe.trailers(), trailers);
      http1::write_last_chunk(out, trailers);
    }
    if (pipe.aborted() || pipe.cancelled()) {
      state.client_aborted = true;
      break;
    }
    if (!out.empty() && (finished || n == 0 || out.size() >= kPiece)) {
      error_code ec;
      co_await asio::async_write(state.connection->socket, asio::buffer(out), redirect(ec));
      out.clear();
      if (ec) break;  // the app stopped reading: its answer may still come
    }
    if (finished) {
      sent = true;
      break;
    }
    if (n == 0) co_await state.request_wake.wait();
  }
  pipe.on_readable = nullptr;
  state.request_pump_running = false;
  if (sent) {
    state.request_sent = true;
    arm_response_wait(state);
  } else if (state.client_aborted && !state.abandoned) {
    cancel_socket(state);  // nobody waits for the answer: the head read ends
  }
  pool_if_clean(state);
}

// Decodes the body bytes already read into the stream's pipe: the whole
// body, with its trailers, when they are all there.
enum class Drained { kMore, kDone, kMalformed };
Drained drain_buffered_body(AppCall& state) {
  http2::BodyPipe& pipe = *state.stream->response;
  ReadBuffer& in = state.connection->buffer;
  while (!in.empty() && !state.decoder.done()) {
    const http1::BodyDecoder::Step step = state.decoder.decode(in.data());
    if (step.error.status != 0) return Drained::kMalformed;
    pipe.append(step.data);
    in.consume(step.consumed);
    if (step.consumed == 0) break;
  }
  if (!state.decoder.done()) return Drained::kMore;
  http2::HeaderList trailers;
  http1_trailers_to_http2(state.decoder.trailers(), trailers);
  pipe.end(std::move(trailers));
  state.response_done = true;
  return Drained::kDone;
}

awaitable<void> relay_response_body(std::shared_ptr<AppCall> call) {
  AppCall& state = *call;
  http2::BodyPipe& pipe = *state.stream->response;
  const std::weak_ptr<AppCall> weak = call;
  pipe.on_taken = [weak](std::size_t) {
    if (const auto alive = weak.lock()) alive->response_wake.notify();
  };
  pipe.on_cancelled = [weak] {
    if (const auto alive = weak.lock()) alive->response_wake.notify();
  };
  ReadBuffer& in = state.connection->buffer;
  while (true) {
    const Drained drained = drain_buffered_body(state);
    if (drained == Drained::kMalformed) {
      pipe.abort();  // the client's stream is reset
      break;
    }
    if (drained == Drained::kDone) break;
    // Backpressure: nothing more is read while the client has not taken this.
    while (!state.abandoned && !pipe.cancelled() && pipe.buffered() >= Http1Sender::kPipeLimit) {
      co_await state.response_wake.wait();
    }
    if (state.abandoned || pipe.cancelled()) break;
    error_code ec;
    const std::size_t n =
        co_await state.connection->socket.async_read_some(in.prepare(), redirect(ec));
    if (ec == asio::error::eof && state.decoder.until_close()) {
      pipe.end();
      state.response_done = true;
      state.keep_alive = false;
      break;
    }
    if (ec) {
      pipe.abort();
      break;
    }
    in.commit(n);
  }
  pipe.on_taken = nullptr;
  pipe.on_cancelled = nullptr;
  state.response_pump_running = false;
  pool_if_clean(state);
}

// Reads the final response head (interim ones skipped: the peer proxy's
// client has had its own 100 Continue) and makes it the stream's head.
awaitable<TryFailure> read_response_head(AppCall& call, std::string_view method,
                                         std::size_t max_interim) {
  UpstreamConnection& connection = *call.connection;
  std::size_t interim = 0;
  call.parser.reset();
  while (true) {
    if (!connection.buffer.empty()) {
      const http1::ParseResult result =
          call.parser.parse_response(connection.buffer.data(), method, call.response);
      if (result.status == http1::ParseStatus::kError) co_return TryFailure::kBadResponse;
      if (result.status == http1::ParseStatus::kComplete) {
        if (call.response.is_interim()) {
          if (++interim > max_interim) co_return TryFailure::kBadResponse;
          connection.buffer.consume(result.consumed);
          call.parser.reset();
          continue;
        }
        // Nothing asked to switch protocols (Upgrade never crosses).
        if (call.response.status == 101) co_return TryFailure::kBadResponse;
        http1_response_to_http2(call.response, call.stream->head);
        call.keep_alive = call.response.keep_alive;
        call.decoder.reset(call.response.body, call.response.content_length);
        call.stream->head_done = true;
        call.stream->end_at_head = call.response.body == http1::BodyKind::kNone;
        connection.buffer.consume(result.consumed);  // call.response's views end here
        co_return TryFailure::kNone;
      }
    }
    const auto space = connection.buffer.prepare();
    if (space.size() == 0) co_return TryFailure::kBadResponse;
    if (call.abandoned || call.client_aborted) co_return TryFailure::kClientGone;
    error_code ec;
    const std::size_t n = co_await connection.socket.async_read_some(space, redirect(ec));
    if (ec) co_return TryFailure::kReset;
    connection.buffer.commit(n);
    call.stream->response_started = true;
  }
}

}  // namespace

Http1Sender::Http1Sender(UpstreamPool& pool, const Executor& executor,
                         std::shared_ptr<http2::Exchange> exchange, const http2::HeaderList& block,
                         bool has_body, const SenderSettings& settings)
    : pool_(pool),
      executor_(executor),
      exchange_(std::move(exchange)),
      has_body_(has_body),
      settings_(settings) {
  valid_ = http2_request_to_http1(block, has_body, head_);
}

Http1Sender::~Http1Sender() {
  abandon();
}

void Http1Sender::abandon() {
  if (exchange_) exchange_->on_client_gone = nullptr;
  if (!call_) return;
  call_->abandoned = true;
  call_->deadline.disarm();
  if (call_->connection) {
    // Closed, not cancelled: a write under way to an app that stopped
    // reading would otherwise go on.
    error_code ignored;
    call_->connection->socket.close(ignored);
  }
  call_->request_wake.notify();
  call_->response_wake.notify();
  call_.reset();
}

void Http1Sender::next_try_on_new_connection() {
  abandon();
  fresh_next_ = true;
  if (settings_.new_connection_retries != nullptr) settings_.new_connection_retries->inc();
}

bool Http1Sender::request_body_done() const {
  return !has_body_ || exchange_->request_body.ended();
}

bool Http1Sender::response_started() const {
  return call_ && call_->stream->response_started;
}

const std::shared_ptr<http2::ClientStream>& Http1Sender::stream() const {
  static const std::shared_ptr<http2::ClientStream> none;
  return call_ ? call_->stream : none;
}

void Http1Sender::release() {
  if (exchange_) exchange_->on_client_gone = nullptr;
  if (!call_) return;
  const std::shared_ptr<AppCall> call = std::move(call_);
  if (call->stream->end_at_head) {
    call->response_done = true;
    pool_if_clean(*call);
    return;
  }
  // send_try() put the body bytes that came with the head into the pipe:
  // a whole body needs no coroutine.
  if (call->response_done) {
    pool_if_clean(*call);
    return;
  }
  call->response_pump_running = true;
  asio::co_spawn(executor_, relay_response_body(call), asio::detached);
}

awaitable<TryFailure> Http1Sender::send_try(const tcp::endpoint& address,
                                            std::string_view /*identity*/,
                                            const RequestTimeouts& timeouts, bool replayable,
                                            bool& body_started) {
  abandon();
  status_ = 0;
  reused_ = false;
  if (exchange_->client_gone) co_return TryFailure::kClientGone;
  const auto call = std::make_shared<AppCall>(executor_, pool_);
  call_ = call;
  if (!fresh_next_) call->connection = pool_.take(address, Clock::now());
  fresh_next_ = false;
  TryFailure failure = TryFailure::kNone;
  if (call->connection) {
    reused_ = true;
  } else {
    const ConnectLimit limit = connect_limit(settings_.connect_timeout, timeouts, Clock::now());
    call->connection =
        co_await connect_upstream(executor_, address, call->deadline, limit, failure);
    if (!call->connection) co_return failure;
  }
  if (call->abandoned || exchange_->client_gone) co_return TryFailure::kClientGone;
  UpstreamConnection& connection = *call->connection;
  const auto expiry =
      try_expiry(timeouts, try_expiry_needs_now(timeouts) ? Clock::now() : Clock::time_point{});
  if (expiry) call->deadline.arm_until(connection.socket, *expiry);
  call->response_wait = timeouts.response_wait;
  call->awaiting_head = true;
  const std::weak_ptr<AppCall> weak = call;
  exchange_->on_client_gone = [weak] {
    if (const auto alive = weak.lock()) {
      alive->client_aborted = true;
      cancel_socket(*alive);
    }
  };
  const bool chunked = head_.body == http1::BodyKind::kChunked;
  if (!has_body_ || replayable) {
    std::string bytes = head_.head;
    if (has_body_ && chunked && !kept_body_.empty()) {
      // A kept body of unknown length: sent whole, in one chunk.
      http1::write_chunk_header(bytes, kept_body_.size());
      bytes += kept_body_;
      bytes += http1::kChunkEnd;
      http1::write_last_chunk(bytes, {});
    } else if (has_body_ && chunked) {
      http1::write_last_chunk(bytes, {});
    } else if (has_body_) {
      bytes += kept_body_;
    }
    error_code ec;
    co_await asio::async_write(connection.socket, asio::buffer(bytes), redirect(ec));
    if (ec) {
      failure = call->deadline.expired() ? TryFailure::kTimeout : TryFailure::kReset;
      abandon();
      co_return failure;
    }
    call->request_sent = true;
    arm_response_wait(*call);
  } else {
    body_started = true;
    call->request_pump_running = true;
    asio::co_spawn(executor_,
                   send_request_body(
                       call, std::shared_ptr<http2::BodyPipe>(exchange_, &exchange_->request_body),
                       head_.head, chunked),
                   asio::detached);
  }
  failure = co_await read_response_head(*call, head_.method, settings_.max_interim_responses);
  // The body bytes that came with the head go into the pipe before the
  // caller submits the head: a small response then crosses as HEADERS and
  // DATA in one write (one TLS record for the peer proxy, which writes its
  // client one HTTP/1.1 response rather than the head, then the body). A
  // body found malformed there fails the try, as a malformed head does.
  if (failure == TryFailure::kNone && !call->stream->end_at_head &&
      drain_buffered_body(*call) == Drained::kMalformed) {
    failure = TryFailure::kBadResponse;
  }
  call->awaiting_head = false;
  call->deadline.disarm();
  if (exchange_) exchange_->on_client_gone = nullptr;
  if (failure == TryFailure::kNone) {
    status_ = call->response.status;
    co_return failure;
  }
  if (call->client_aborted || exchange_->client_gone || exchange_->request_body.aborted()) {
    failure = TryFailure::kClientGone;
  } else if (failure == TryFailure::kReset && call->deadline.expired()) {
    failure = TryFailure::kTimeout;
  }
  abandon();
  co_return failure;
}

}  // namespace weft::proxy::bridge
