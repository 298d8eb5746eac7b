#include "proxy/http2/client.h"

#include <algorithm>

namespace weft::proxy::http2 {
namespace {

// A connection to a meshed proxy proved its identity (mTLS): its frames go
// in batches of exchanges (write_batch.h).
Limits connection_limits(const ClientLimits& limits, const UpstreamConnection& upstream) {
  Limits out = limits.limits;
  if (!upstream.identity.empty()) out.write_batch = limits.mesh_write_batch;
  return out;
}

}  // namespace

ClientConnection::ClientConnection(std::unique_ptr<UpstreamConnection> upstream,
                                   const ClientLimits& limits)
    : OwnedUpstream{std::move(upstream)},
      FrameIo(upstream_->socket, Side::kClient, connection_limits(limits, *upstream_)),
      limits_(limits),
      ready_(upstream_->socket.get_executor()) {
  if (Counter* const cache_full = limits.session_cache_full) {
    session_.memory().cache_full = [cache_full] { cache_full->inc(); };
  }
}

ClientConnection::~ClientConnection() {
  // Streams held elsewhere (a try, a relayed response) call into this no more.
  for (auto& [id, stream] : streams_) forget(*stream);
  for (auto& stream : retired_streams_) forget(*stream);
}

void ClientConnection::start() {
  // The coroutine holds the connection from here: its first resume comes
  // later, when every other holder may already have let it go.
  asio::co_spawn(stream_.get_executor(), run(shared_from_this()), asio::detached);
}

awaitable<void> ClientConnection::run(std::shared_ptr<ClientConnection> /*self*/) {
  try {
    co_await run_io(read_buffer_, std::chrono::seconds(1));
  } catch (...) {
    // (memory: the streams were failed by reader_ended or are below)
  }
  ended_ = true;
  ready_.cancel();
  for (auto& [id, stream] : streams_) {
    forget(*stream);
    stream->closed = true;
    stream->response->abort();
    stream->wake();
  }
  streams_.clear();
  last_found_ = nullptr;
  notify_room();
}

void ClientConnection::notify_room() {
  if (const auto room = room_.lock()) room->notify();
}

awaitable<void> ClientConnection::wait_ready(Clock::time_point until) {
  while (!settings_received_ && !closing() && Clock::now() < until) {
    ready_.expires_at(until);
    error_code ignored;
    co_await ready_.async_wait(redirect(ignored));
  }
}

bool ClientConnection::usable() const {
  if (ended_ || goaway_ || io_failed_ || !session_.ok() || !settings_received_) return false;
  const std::uint32_t peer_max =
      nghttp2_session_get_remote_settings(session_.get(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < std::min(peer_max, limits_.limits.max_concurrent_streams);
}

std::int32_t ClientConnection::submit(const std::shared_ptr<ClientStream>& stream,
                                      const HeaderList& head, const nghttp2_data_provider* body) {
  const auto nv = to_nv(head);
  const std::int32_t id =
      nghttp2_submit_request(session_.get(), nullptr, nv.data(), nv.size(), body, nullptr);
  if (id < 0) {
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) goaway_ = true;  // ids used up: a new one
    return id;
  }
  stream->id = id;
  streams_[id] = stream;
  ++streams_opened_;
  // The response's bytes reopen this stream's window once the client side
  // took them (the connection's reopens as they arrive, on_data_chunk); a
  // consumer that stops reading resets the stream. The callbacks capture
  // two pointers (held inline by std::function); they are dropped when the
  // stream leaves streams_, when it is destroyed, and when this is: while
  // one is set, the stream and this are alive.
  ClientStream* const raw = stream.get();
  stream->response->on_taken = [this, raw](std::size_t n) {
    if (ended_) return;
    nghttp2_session_consume_stream(session(), raw->id, n);
    want_write();
  };
  stream->response->on_cancelled = [this, raw] { cancel(*raw); };
  if (stream->request) stream->request->on_readable = ResumeRequestBody{this, raw};
  // A lone request goes out now; many sent in one turn share a write, or
  // one per batch between meshed proxies (write_batch.h).
  exchange_ready();
  return id;
}

void ClientConnection::cancel(ClientStream& stream) {
  if (stream.closed || ended_ || stream.id < 0) return;
  const std::int32_t id = stream.id;
  // (On HEADERS still queued, this marks them cancelled: never sent.)
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  if (nghttp2_session_find_stream(session_.get(), id) == nullptr) forget_unopened(id);
  want_write();
}

void ClientConnection::forget_unopened(std::int32_t id) {
  const auto it = streams_.find(id);
  if (it == streams_.end()) return;
  const std::shared_ptr<ClientStream> stream = it->second;
  streams_.erase(it);
  if (last_found_ == stream.get()) last_found_ = nullptr;
  // Its queued HEADERS still name its body's provider: kept with the session.
  retired_streams_.push_back(stream);
  stream->closed = true;
  stream->close_error = NGHTTP2_CANCEL;
  if (!stream->response->ended()) stream->response->abort();
  if (stream->request) stream->request->on_readable = nullptr;
  stream->wake();
  notify_room();
}

void ClientConnection::retire() {
  if (goaway_ || ended_) return;
  goaway_ = true;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
  want_write();
  notify_room();  // it no longer counts at the cap
}

void ClientConnection::ResumeRequestBody::operator()() const {
  if (connection->ended_ || stream->closed) return;
  nghttp2_session_resume_data(connection->session(), stream->id);
  connection->want_write();
}

void ClientStream::drop_callbacks() {
  response->on_taken = nullptr;
  response->on_cancelled = nullptr;
  if (!request) return;
  const auto* resume = request->on_readable.target<ClientConnection::ResumeRequestBody>();
  if (resume != nullptr && resume->stream == this) request->on_readable = nullptr;
}

ClientStream* ClientConnection::find(std::int32_t id) {
  if (last_found_ != nullptr && last_found_->id == id && !last_found_->closed) return last_found_;
  const auto it = streams_.find(id);
  if (it == streams_.end()) return nullptr;
  last_found_ = it->second.get();
  return last_found_;
}

int ClientConnection::on_begin_headers(const nghttp2_frame& frame) {
  ClientStream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  stream->response_started = true;
  // A block after the final head is the trailers.
  stream->in_trailers = stream->head_done;
  if (!stream->head_done) stream->head.clear();
  return 0;
}

int ClientConnection::on_header(const nghttp2_frame& frame, std::string_view name,
                                std::string_view value) {
  ClientStream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  HeaderList& list = stream->in_trailers ? stream->trailers : stream->head;
  if (list.size + name.size() + value.size() + 32 > limits_.limits.max_header_list_size) {
    stream->head_too_large = true;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the stream is reset
  }
  list.add(name, value);
  return 0;
}

int ClientConnection::on_frame_recv(const nghttp2_frame& frame) {
  if (frame.hd.type == NGHTTP2_SETTINGS && (frame.hd.flags & NGHTTP2_FLAG_ACK) == 0) {
    settings_received_ = true;
    ready_.cancel();
    return 0;
  }
  if (frame.hd.type == NGHTTP2_GOAWAY) {
    goaway_ = true;
    ready_.cancel();
    notify_room();  // it no longer counts at the cap
    // Streams past its last id were not processed: a retry may go elsewhere.
    for (auto& [id, stream] : streams_) {
      if (id > frame.goaway.last_stream_id) stream->refused = true;
    }
    return 0;
  }
  ClientStream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame.hd.type == NGHTTP2_HEADERS) {
    if (stream->in_trailers) {
      if (end) stream->response->end(std::move(stream->trailers));
      return 0;
    }
    const std::string_view status = stream->head.find(":status");
    if (status.size() == 3 && status[0] == '1') return 0;  // interim: the final head follows
    stream->head_done = true;
    stream->end_at_head = end;
    if (end) stream->response->end();
    stream->wake();
  } else if (frame.hd.type == NGHTTP2_DATA && end) {
    stream->response->end();
  }
  return 0;
}

int ClientConnection::on_data_chunk(std::int32_t stream_id, std::string_view data) {
  // The connection's window reopens at once: the streams of many clients
  // share this connection, and one whose client stopped reading must not
  // hold the others' window. What one stream holds is bounded by its own
  // window, which reopens only as its client takes the bytes.
  nghttp2_session_consume_connection(session_.get(), data.size());
  ClientStream* stream = find(stream_id);
  if (stream == nullptr) return 0;
  stream->response->append(data);
  return 0;
}

int ClientConnection::on_stream_close(std::int32_t stream_id, std::uint32_t error_code) {
  const auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  const std::shared_ptr<ClientStream> stream = it->second;
  streams_.erase(it);
  last_found_ = nullptr;
  forget(*stream);
  stream->closed = true;
  stream->close_error = error_code;
  if (error_code == NGHTTP2_REFUSED_STREAM) stream->refused = true;
  // (The connection's window got their bytes back as they came.)
  if (!stream->response->ended()) stream->response->abort();
  if (stream->request) {
    // The endpoint answered without reading it all: the rest is dropped.
    if (!stream->request->finished()) stream->request->cancel();
  }
  stream->wake();
  notify_room();
  return 0;
}

void ClientConnection::on_invalid_frame() {
  if (limits_.protocol_errors != nullptr) limits_.protocol_errors->inc();
}

void ClientConnection::protocol_error(int /*error*/) {
  if (limits_.protocol_errors != nullptr) limits_.protocol_errors->inc();
}

std::optional<Clock::duration> ClientConnection::idle_limit() const {
  if (streams_.empty()) return limits_.idle_timeout;
  return std::nullopt;
}

void ClientConnection::write_stalled() {
  if (limits_.write_stalls != nullptr) limits_.write_stalls->inc();
}

void ClientConnection::tick(Clock::time_point now) {
  nghttp2_session* session = session_.get();
  // A peer that allows no stream at all is of no use, and would hold a
  // place at the per-endpoint cap until the idle timeout.
  if (settings_received_ && !closing() && streams_.empty() &&
      nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 0) {
    retire();
    return;
  }
  // Streams that cannot move: HEADERS queued behind the peer's stream limit
  // (never sent), or a body whose bytes wait behind the peer's shut window.
  std::vector<std::int32_t> unopened;
  std::vector<std::int32_t> stalled;
  for (auto& [id, stream] : streams_) {
    const bool queued = nghttp2_session_find_stream(session, id) == nullptr;
    const bool body_waits = stream->request && stream->request->buffered() > 0 &&
                            (nghttp2_session_get_stream_remote_window_size(session, id) <= 0 ||
                             nghttp2_session_get_remote_window_size(session) <= 0);
    if (!queued && !body_waits) {
      stream->stalled_since.reset();
    } else if (!stream->stalled_since) {
      stream->stalled_since = now;
    } else if (now - *stream->stalled_since >= limits_.stall_timeout) {
      (queued ? unopened : stalled).push_back(id);
    }
  }
  for (const std::int32_t id : unopened) {
    if (limits_.stalled_streams != nullptr) limits_.stalled_streams->inc();
    if (ClientStream* stream = find(id)) {
      stream->refused = true;  // never sent: another connection may take it
      cancel(*stream);
    }
  }
  for (const std::int32_t id : stalled) {
    if (limits_.stalled_streams != nullptr) limits_.stalled_streams->inc();
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
  if (!unopened.empty() || !stalled.empty()) want_write();
}

awaitable<void> ClientConnection::reader_ended() {
  ended_ = true;
  ready_.cancel();
  for (auto& [id, stream] : streams_) {
    forget(*stream);
    stream->closed = true;
    if (!stream->response_started) stream->refused = !io_failed_ && goaway_;
    stream->response->abort();
    stream->wake();
    retired_streams_.push_back(stream);
  }
  streams_.clear();
  last_found_ = nullptr;
  co_return;
}

std::shared_ptr<ClientConnection> ClientPool::open_connection(const tcp::endpoint& endpoint,
                                                              std::string_view identity,
                                                              bool& reused) {
  const auto found = open_.find(PoolKeyView{endpoint, identity});
  if (found == open_.end()) return nullptr;
  auto& list = found->second;
  std::erase_if(list, [](const std::weak_ptr<ClientConnection>& weak) {
    const auto connection = weak.lock();
    return !connection || connection->closing();
  });
  for (const auto& weak : list) {
    auto connection = weak.lock();
    if (connection && connection->usable()) {
      reused = connection->has_carried_streams();
      return connection;
    }
  }
  return nullptr;
}

awaitable<std::shared_ptr<ClientConnection>> ClientPool::acquire(const tcp::endpoint& endpoint,
                                                                 const UpstreamTls& tls,
                                                                 const ConnectLimit& limit,
                                                                 TryFailure& failure, bool fresh,
                                                                 bool& reused) {
  const PoolKey key{endpoint, std::string(tls.identity)};
  reused = false;
  bool waited_for_room = false;
  while (true) {
    if (!fresh) {
      if (auto connection = open_connection(endpoint, tls.identity, reused)) co_return connection;
      const auto connecting = connecting_.find(key);
      if (connecting != connecting_.end()) {
        // Another request connects to it: wait for that one (bounded by our limit).
        const std::shared_ptr<Timer> timer = connecting->second;
        if (Clock::now() >= limit.expiry) {
          failure = limit.by_deadline ? TryFailure::kTimeout : TryFailure::kConnect;
          co_return nullptr;
        }
        error_code ignored;
        co_await timer->async_wait(redirect(ignored));
        continue;
      }
    }
    // At the cap (a peer with a low stream limit, or one that makes the
    // pool open connection after connection): wait for a stream to end.
    if (live_connections(key) >= limits_.max_connections_per_endpoint) {
      // (A try meant for a new connection takes room on an open one rather:
      // the broken one it avoids has left the pool.)
      if (fresh) {
        fresh = false;
        continue;
      }
      if (!waited_for_room && limits_.connection_limit != nullptr) limits_.connection_limit->inc();
      waited_for_room = true;
      if (Clock::now() >= limit.expiry) {
        failure = limit.by_deadline ? TryFailure::kTimeout : TryFailure::kConnect;
        co_return nullptr;
      }
      co_await wait_for_room(key, limit.expiry);
      continue;
    }
    break;
  }
  auto timer = std::make_shared<Timer>(executor_);
  timer->expires_at(limit.expiry);
  connecting_[key] = timer;
  Deadline deadline(executor_);
  auto upstream = co_await connect_upstream(executor_, endpoint, deadline, limit, failure, tls);
  std::shared_ptr<ClientConnection> connection;
  if (upstream) {
    connection = std::make_shared<ClientConnection>(std::move(upstream), limits_);
    connection->start();
    // Its SETTINGS first (sent by the peer at once): then the waiters below
    // see how many streams it takes.
    co_await connection->wait_ready(limit.expiry);
    if (!connection->ready()) {
      failure = connection->closing() ? TryFailure::kConnect
                : limit.by_deadline   ? TryFailure::kTimeout
                                      : TryFailure::kConnect;
      connection->retire();
      connection.reset();
    } else if (!connection->usable()) {
      // Ready but taking no stream (SETTINGS_MAX_CONCURRENT_STREAMS 0, or
      // GOAWAY at once): a connect failure, not a connection per request.
      failure = TryFailure::kConnect;
      connection->retire();
      connection.reset();
    } else {
      std::shared_ptr<PoolRoom>& room = rooms_[key];
      if (!room) room = std::make_shared<PoolRoom>();
      connection->set_room(room);
    }
  }
  if (const auto it = connecting_.find(key); it != connecting_.end() && it->second == timer) {
    connecting_.erase(it);
  }
  timer->cancel();  // wakes the waiters
  if (!connection) co_return nullptr;
  open_[key].push_back(connection);
  co_return connection;
}

std::size_t ClientPool::live_connections(const PoolKey& key) const {
  std::size_t n = connecting_.contains(key) ? 1 : 0;
  if (const auto it = open_.find(key); it != open_.end()) {
    for (const auto& weak : it->second) {
      const auto connection = weak.lock();
      if (connection && !connection->closing()) ++n;
    }
  }
  return n;
}

awaitable<void> ClientPool::wait_for_room(const PoolKey& key, Clock::time_point until) {
  std::shared_ptr<PoolRoom>& entry = rooms_[key];
  if (!entry) entry = std::make_shared<PoolRoom>();
  const std::shared_ptr<PoolRoom> room = entry;
  Timer timer(executor_);
  timer.expires_at(until);
  room->waiters.push_back(&timer);
  error_code ignored;
  co_await timer.async_wait(redirect(ignored));
  std::erase(room->waiters, &timer);
}

std::size_t ClientPool::size() const {
  std::size_t n = 0;
  for (const auto& [key, list] : open_) {
    for (const auto& weak : list) {
      if (!weak.expired()) ++n;
    }
  }
  return n;
}

namespace {

ClientLimits client_limits(const Settings& settings, ProxyMetrics& metrics, Direction direction) {
  const std::string label(to_string(direction));
  return {
      .limits = limits_from(settings),
      .mesh_write_batch = settings.http2_mesh_write_batch,
      .idle_timeout = settings.pool_idle_timeout,
      .stall_timeout = settings.body_idle_timeout,
      .max_connections_per_endpoint = settings.http2_max_connections_per_endpoint,
      .protocol_errors = &metrics.http2_protocol_errors_total.with_labels({label, "client"}),
      .stalled_streams = &metrics.http2_stream_reset_total.with_labels({label, "stalled_stream"}),
      .write_stalls = &metrics.limit_reached(direction, Limit::kHttp2WriteTimeout),
      .connection_limit = &metrics.limit_reached(direction, Limit::kHttp2UpstreamConnections),
      .session_cache_full = &metrics.limit_reached(direction, Limit::kHttp2SessionCache)};
}

}  // namespace

ClientPools::ClientPools(const Executor& executor, const Settings& settings, ProxyMetrics& metrics)
    : inbound(executor, client_limits(settings, metrics, Direction::kInbound)),
      outbound(executor, client_limits(settings, metrics, Direction::kOutbound)) {}

void ClientPool::retire_all() {
  for (auto& [key, list] : open_) {
    for (const auto& weak : list) {
      if (const auto connection = weak.lock()) connection->retire();
    }
  }
}

}  // namespace weft::proxy::http2
