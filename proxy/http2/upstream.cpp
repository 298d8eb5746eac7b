#include "proxy/http2/upstream.h"

#include <charconv>

namespace weft::proxy::http2 {

Upstream::Upstream(ClientPool& pool, const Executor& executor, std::shared_ptr<Exchange> exchange,
                   const HeaderList& head, bool has_body, const UpstreamSettings& settings)
    : pool_(pool),
      exchange_(std::move(exchange)),
      head_(head),
      has_body_(has_body),
      settings_(settings),
      signal_(executor) {}

Upstream::~Upstream() {
  detach();
}

void Upstream::detach() {
  if (exchange_) exchange_->on_client_gone = nullptr;
  if (body_replayable()) kept_body_ = std::move(stream_->teed.copy);  // for the next try
  if (stream_) {
    stream_->waiter = nullptr;
    if (!stream_->closed && connection_) connection_->cancel(*stream_);
  }
  stream_.reset();
  connection_.reset();
}

void Upstream::drop_connection() {
  detach();
}

void Upstream::next_try_on_new_connection() {
  detach();
  fresh_next_ = true;
  if (settings_.new_connection_retries != nullptr) settings_.new_connection_retries->inc();
}

bool Upstream::request_body_done() const {
  return !has_body_ || exchange_->request_body.ended();
}

bool Upstream::body_replayable() const {
  if (!stream_ || stream_->teed.pipe == nullptr || stream_->teed.overflowed) return false;
  const BodyPipe& body = exchange_->request_body;
  return body.finished() && body.trailers().empty();
}

std::optional<grpc::Status> Upstream::response_grpc_status() const {
  if (!stream_ || !stream_->end_at_head) return std::nullopt;
  const std::string_view value = stream_->head.find("grpc-status");
  if (value.empty()) return std::nullopt;
  return grpc::parse_status(value);
}

awaitable<TryFailure> Upstream::send_try(const tcp::endpoint& address,
                                         std::string_view expected_identity,
                                         const RequestTimeouts& timeouts, bool replayable,
                                         bool& body_started) {
  detach();
  status_ = 0;
  reused_ = false;
  if (exchange_->client_gone) co_return TryFailure::kClientGone;
  const std::string_view identity =
      settings_.tls == nullptr ? std::string_view() : expected_identity;
  const UpstreamTls tls{
      .context = identity.empty() ? nullptr : settings_.tls->get(TlsRole::kClient),
      .identity = identity,
      .metrics = settings_.tls_metrics};
  const ConnectLimit limit = connect_limit(settings_.connect_timeout, timeouts, Clock::now());
  TryFailure failure = TryFailure::kNone;
  bool reused = false;
  // An open connection at once (no coroutine frame); else wait or connect.
  std::shared_ptr<ClientConnection> connection;
  if (!fresh_next_) connection = pool_.open_connection(address, tls.identity, reused);
  if (!connection) {
    connection = co_await pool_.acquire(address, tls, limit, failure, fresh_next_, reused);
  }
  fresh_next_ = false;
  if (!connection) co_return failure;
  if (exchange_->client_gone) co_return TryFailure::kClientGone;
  connection_ = std::move(connection);
  reused_ = reused;
  stream_ = make_recycled<ClientStream>();
  stream_->waiter = &signal_;
  nghttp2_data_provider provider{};
  const nghttp2_data_provider* body = nullptr;
  if (has_body_) {
    if (replayable) {
      stream_->held.body = std::make_shared<const std::string>(kept_body_);
      provider = held_provider(stream_->held);
    } else {
      stream_->request = std::shared_ptr<BodyPipe>(exchange_, &exchange_->request_body);
      if (copy_limit_ > 0) {
        stream_->teed = {.pipe = stream_->request.get(), .limit = copy_limit_};
        provider = teed_provider(stream_->teed);
      } else {
        provider = pipe_provider(*stream_->request);
      }
      body_started = true;
    }
    body = &provider;
  }
  if (connection_->submit(stream_, head_, body) < 0) {
    detach();
    co_return TryFailure::kConnect;
  }
  exchange_->on_client_gone = [this] { signal_.notify(); };
  // The try's limit, cut at the request's deadline; and, without one, the
  // wait for the head from the request's end (looked at each second).
  const auto expiry =
      try_expiry(timeouts, try_expiry_needs_now(timeouts) ? Clock::now() : Clock::time_point{});
  std::optional<Clock::time_point> wait_expiry;
  while (true) {
    ClientStream& stream = *stream_;
    if (stream.head_done) {
      if (stream.head_too_large) co_return TryFailure::kBadResponse;
      const std::string_view status = stream.head.find(":status");
      int value = 0;
      std::from_chars(status.data(), status.data() + status.size(), value);
      if (value < 200 || value > 999) co_return TryFailure::kBadResponse;
      status_ = value;
      exchange_->on_client_gone = nullptr;
      co_return TryFailure::kNone;
    }
    if (exchange_->client_gone || (stream.request && stream.request->aborted())) {
      detach();
      co_return TryFailure::kClientGone;
    }
    if (stream.closed) {
      if (stream.head_too_large) co_return TryFailure::kBadResponse;
      // Refused (REFUSED_STREAM, or past the peer's GOAWAY): not processed,
      // so the retries layer sends it once more on a new connection, as for
      // a pooled connection found closed.
      if (stream.refused && !stream.response_started) reused_ = true;
      co_return TryFailure::kReset;
    }
    const auto now = Clock::now();
    if (!wait_expiry && timeouts.response_wait && request_body_done()) {
      wait_expiry = now + *timeouts.response_wait;
    }
    auto until = Clock::time_point::max();
    if (expiry) until = *expiry;
    if (wait_expiry) until = std::min(until, *wait_expiry);
    if (now >= until) {
      detach();
      co_return TryFailure::kTimeout;
    }
    if (timeouts.response_wait && !wait_expiry) {
      until = std::min(until, now + std::chrono::seconds(1));
    }
    co_await signal_.wait(until);
  }
}

}  // namespace weft::proxy::http2
