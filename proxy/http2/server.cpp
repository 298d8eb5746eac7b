#include "proxy/http2/server.h"

#include <exception>
#include <map>
#include <memory>
#include <type_traits>
#include <vector>

#include "proxy/bridge/http1_sender.h"
#include "proxy/http2/exchange.h"
#include "proxy/http2/fault_budget.h"
#include "proxy/http2/frame_io.h"
#include "proxy/http2/local_answer.h"
#include "proxy/http2/progress_watch.h"
#include "proxy/http2/request_head.h"
#include "proxy/http2/stream_ids.h"
#include "proxy/http2/stream_map.h"
#include "proxy/http2/upstream.h"
#include "proxy/layers/request_plan.h"
#include "proxy/layers/retries.h"
#include "proxy/layers/stack.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/grpc.h"
#include "proxy/tls/tls_labels.h"

namespace weft::proxy {
namespace {

using http2::BodyPipe;
using http2::Exchange;
using http2::HeaderList;

// A frame of the exchange itself (a head, body bytes, trailers): what keeps
// a stream from idling. A WINDOW_UPDATE or PRIORITY now and then does not,
// nor an empty DATA frame.
bool carries_content(const nghttp2_frame_hd& header) {
  return header.type == NGHTTP2_HEADERS || (header.type == NGHTTP2_DATA && header.length > 0);
}

// One request stream of the client's connection. One allocation: the
// exchange and its request body pipe are in it (the upstream side holds them
// through aliasing shared_ptrs to this), and the pipes' callbacks capture
// only this and their connection (held inline by std::function).
struct ServerStream {
  std::int32_t id = 0;
  http2::RequestHead head;
  HeaderList trailers;
  bool in_trailers = false;
  Exchange exchange;
  // The connection's: false once it is gone (the upstream side may still
  // take the request body's bytes).
  std::shared_ptr<bool> connection_alive;
  bool closed = false;
  bool responded = false;                          // a response was submitted
  std::shared_ptr<BodyPipe> response;              // relayed from upstream (null: none)
  http2::HeldBody local_body;                      // a local answer's text
  std::optional<Clock::time_point> deadline;       // the request's, while its response streams
  std::optional<Clock::time_point> stalled_since;  // the client's window stayed shut
  bool answered_locally = false;                   // by the proxy itself
  bool goaway_after_response = false;              // a refusal that ends the connection
  // The response went whole while the request is still open: the stream is
  // reset (NO_ERROR) once the client had --body-idle-timeout to end it.
  std::optional<Clock::time_point> answered_at;
  // The decoded header bytes this stream holds (its head until its handler
  // ends, its trailers), in the connection's open_header_bytes_.
  std::size_t header_charge = 0;
  // HEADERS and DATA either way, looked at each tick: a stream on which none
  // moved for --http2-stream-idle-timeout is reset, gRPC included.
  std::uint64_t activity = 0;
  http2::ProgressWatch idle;
  // The request body's progress, looked at each tick: a client that stops
  // sending it while nothing waits for the upstream is idle. Not for gRPC,
  // whose streams may stay open and quiet for long (deadlines and
  // --http2-stream-idle-timeout bound them).
  bool grpc = false;
  std::uint64_t request_bytes = 0;
  std::uint64_t request_bytes_seen = 0;
  std::optional<Clock::time_point> request_idle_since;
  // A relayed gRPC response: its grpc-status is counted when it ends (held:
  // the series cannot expire meanwhile).
  std::shared_ptr<RouteMetrics> grpc_metrics;
  // The request as the layers see it, and a refusal's text: the handler's,
  // here rather than in its coroutine frame, which they would take past
  // glibc's per-thread cache limit (1,032 bytes: a frame above is a slower
  // malloc and free per request).
  http2::ConvertedRequest converted;
  std::string refusal_body;
  // The request's route (176 bytes), the handler's while it runs: here, it
  // kept the frame of handle<Upstream> above that limit (1,088 bytes, each
  // a bin search and merge in malloc and free). The stream's own block is
  // recycled (make_recycled), whatever its size.
  Plan route;

  ServerStream() = default;
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;
  // The response pipe's callback points to this stream (relay_response):
  // it goes with it, whichever way the stream left its connection.
  ~ServerStream() {
    if (response) response->on_readable = nullptr;
  }
};

class ServerConnection final : public http2::FrameIo {
 public:
  ServerConnection(Worker& worker, Stream& client, ConnectionTarget target)
      // From a meshed proxy (mTLS, a client identity): frames in batches.
      : FrameIo(client, http2::Side::kServer,
                http2::limits_from(worker.runtime.settings, !target.client_identity.empty())),
        worker_(worker),
        runtime_(worker.runtime),
        target_(target),
        limits_(http2::limits_from(worker.runtime.settings)),
        destination_text_(endpoint_label(target.destination)),
        upstream_settings_{.connect_timeout = runtime_.settings.connect_timeout,
                           .tls = target.direction == Direction::kOutbound ? &worker.tls : nullptr,
                           .tls_metrics = target.direction == Direction::kOutbound
                                              ? &runtime_.tls_metrics
                                              : nullptr,
                           .new_connection_retries =
                               &runtime_.metrics.metrics().upstream_retry_on_new_connection_total},
        handlers_done_(client.get_executor()) {
    Counter* const cache_full =
        &runtime_.metrics.metrics().limit_reached(target.direction, Limit::kHttp2SessionCache);
    session_.memory().cache_full = [cache_full] { cache_full->inc(); };
  }
  ~ServerConnection() override { *alive_ = false; }

  awaitable<ConnectionBytes> run(ReadBuffer& buffer) {
    co_await run_io(buffer, std::chrono::seconds(5));
    co_return ConnectionBytes{.read = bytes_read(), .written = bytes_written()};
  }

 private:
  int on_begin_frame(const nghttp2_frame_hd& header) override;
  int on_begin_headers(const nghttp2_frame& frame) override;
  int on_header(const nghttp2_frame& frame, std::string_view name, std::string_view value) override;
  int on_frame_recv(const nghttp2_frame& frame) override;
  int on_data_chunk(std::int32_t stream_id, std::string_view data) override;
  int on_stream_close(std::int32_t stream_id, std::uint32_t error_code) override;
  void on_invalid_frame() override { protocol_errors().inc(); }
  void protocol_error(int error) override;
  void write_stalled() override {
    runtime_.metrics.metrics().limit_reached(target_.direction, Limit::kHttp2WriteTimeout).inc();
  }
  // Gives back the header bytes a stream holds; its head goes once its
  // handler ended (the converted request views into it until then).
  void release_headers(ServerStream& stream, bool drop_head);
  void reset_answered_streams(Clock::time_point now);
  void on_goaway_sent(std::uint32_t error_code) override;
  void on_frame_sent(const nghttp2_frame& frame) override;
  // Counts, once per connection, the GOAWAY that ends it for a peer's fault.
  void count_cut(std::string_view reason);
  bool lone_exchange() const override { return streams_.size() <= 1; }
  std::optional<Clock::duration> idle_limit() const override {
    if (streams_.empty() && handlers_ == 0) return runtime_.settings.idle_timeout;
    return std::nullopt;
  }
  void idle_expired() override { send_goaway("idle"); }
  void tick(Clock::time_point now) override;
  awaitable<void> reader_ended() override;

  Counter& protocol_errors() {
    return runtime_.metrics.metrics().http2_protocol_errors_total.with_labels(
        {std::string(to_string(target_.direction)), "server"});
  }
  void count_reset(std::string_view limit) {
    runtime_.metrics.metrics()
        .http2_stream_reset_total
        .with_labels({std::string(to_string(target_.direction)), std::string(limit)})
        .inc();
  }
  void send_goaway(std::string_view reason);
  // nghttp2 calls back for one stream many times in a row (each header of
  // a block): the last one found is looked at first.
  ServerStream* find(std::int32_t id) {
    if (last_found_ != nullptr && last_found_->id == id && !last_found_->closed) {
      return last_found_;
    }
    const auto it = streams_.find(id);
    if (it == streams_.end()) return nullptr;
    last_found_ = it->second.get();
    return last_found_;
  }
  void start_handler(std::shared_ptr<ServerStream> stream);
  // U: http2::Upstream, or bridge::Http1Sender for a stream a peer proxy
  // marked as HTTP/1.1 (honoured on mTLS from a mesh identity only).
  template <class U>
  awaitable<void> handle(std::shared_ptr<ServerStream> stream);
  template <class U>
  U make_upstream(std::shared_ptr<Exchange> exchange, const HeaderList& forwarded, bool has_body);
  bool carries_http1(const ServerStream& stream) const;
  template <class U>
  awaitable<bool> keep_body(ServerStream& stream, U& upstream);
  void respond_locally(ServerStream& stream, int status, std::string_view reason, bool grpc,
                       bool head_request, std::uint32_t retry_after_seconds = 0);
  template <class U>
  void relay_response(ServerStream& stream, U& upstream);
  void submit_response(ServerStream& stream, const HeaderList& head,
                       const nghttp2_data_provider* body);
  const std::shared_ptr<RouteMetrics>& route_metrics(std::string_view target,
                                                     std::string_view route, const TlsPeer& peer,
                                                     std::string_view route_rule = {},
                                                     std::string_view backend = {});
  TlsPeer peer_with(std::string_view identity) {
    if (target_.direction == Direction::kInbound) return inbound_peer(target_.client_identity);
    return outbound_peer(identity,
                         !identity.empty() && worker_.tls.get(TlsRole::kClient) != nullptr);
  }

  Worker& worker_;
  Runtime& runtime_;
  const ConnectionTarget target_;
  const http2::Limits limits_;
  const std::string destination_text_;
  // The same for every request (built once: not in each handler's frame).
  const http2::UpstreamSettings upstream_settings_;
  http2::StreamMap<ServerStream> streams_;
  ServerStream* last_found_ = nullptr;  // in streams_ (reset when one leaves)
  // Streams still open in nghttp2 when the reader ended: their data
  // providers (a local answer's text, a response pipe) are read while the
  // writer flushes, so they live as long as the session.
  std::vector<std::shared_ptr<ServerStream>> retired_streams_;
  std::size_t handlers_ = 0;
  http2::Signal handlers_done_;
  std::size_t open_header_bytes_ = 0;  // the streams' header_charge, summed
  bool goaway_sent_ = false;
  bool cut_counted_ = false;
  std::uint64_t resets_received_ = 0;  // RST_STREAM frames from the client
  // Streams nghttp2 or this side reset for the client's fault (a window
  // overflow, DATA past content-length, a header list past the limit): the
  // same budget as the client's own resets (MadeYouReset, CVE-2025-8671).
  http2::FaultBudget peer_faults_{limits_.reset_burst, limits_.reset_rate, Clock::now()};
  http2::SkippedStreamIds skipped_ids_;
  // Callbacks held by pipes the upstream side keeps may outlive this.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<RouteMetrics> cached_metrics_;
  std::string cached_key_;
};

void ServerConnection::send_goaway(std::string_view reason) {
  if (goaway_sent_) return;
  goaway_sent_ = true;
  nghttp2_submit_goaway(session(), NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session()), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  runtime_.metrics.metrics()
      .http2_goaway_sent_total
      .with_labels({std::string(to_string(target_.direction)), std::string(reason)})
      .inc();
  want_write();
}

void ServerConnection::count_cut(std::string_view reason) {
  if (cut_counted_) return;
  cut_counted_ = true;
  runtime_.metrics.metrics()
      .http2_goaway_sent_total
      .with_labels({std::string(to_string(target_.direction)), std::string(reason)})
      .inc();
}

void ServerConnection::protocol_error(int error) {
  protocol_errors().inc();
  // Counted when decided: a flooder that never reads may never get the GOAWAY.
  count_cut(error == NGHTTP2_ERR_FLOODED                  ? "flood"
            : error == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ? "continuation_flood"
                                                          : "protocol_error");
}

void ServerConnection::on_goaway_sent(std::uint32_t error_code) {
  if (error_code == NGHTTP2_NO_ERROR) return;  // drain, idle: counted by send_goaway
  // nghttp2 ends a connection by itself with INTERNAL_ERROR when the client's
  // RST_STREAM frames exhaust the reset budget (rapid reset, CVE-2023-44487).
  const bool rapid_reset =
      error_code == NGHTTP2_INTERNAL_ERROR && resets_received_ >= limits_.reset_burst;
  count_cut(rapid_reset ? "rapid_reset" : "protocol_error");
}

void ServerConnection::on_frame_sent(const nghttp2_frame& frame) {
  // (Looked up for HEADERS and DATA only: the other frames need no stream.)
  ServerStream* stream = carries_content(frame.hd) ? find(frame.hd.stream_id) : nullptr;
  if (stream != nullptr) ++stream->activity;
  if (frame.hd.type == NGHTTP2_RST_STREAM && frame.rst_stream.error_code != NGHTTP2_NO_ERROR &&
      frame.rst_stream.error_code != NGHTTP2_CANCEL && !peer_faults_.spend(Clock::now())) {
    count_cut("stream_errors");
    nghttp2_session_terminate_session(session(), NGHTTP2_ENHANCE_YOUR_CALM);
    want_write();
    return;
  }
  // The response is complete while the client's request is still open: the
  // stream is reset with NO_ERROR (RFC 9113 section 8.1), so a client that
  // never ends its request holds no stream, nor its memory, past its answer:
  // at once after the proxy's own answer (nothing reads the rest), after
  // --body-idle-timeout after a relayed one (the client may still be
  // finishing its body: reset_answered_streams).
  if (stream == nullptr || (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return;
  // After the refusal itself, so that the client reads it whole first.
  if (stream->goaway_after_response) send_goaway("refused");
  if (nghttp2_session_get_stream_remote_close(session(), frame.hd.stream_id) != 0) return;
  if (stream->answered_locally) {
    count_reset("request_open_after_response");
    nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, frame.hd.stream_id, NGHTTP2_NO_ERROR);
    want_write();
  } else {
    stream->answered_at = Clock::now();
  }
}

void ServerConnection::reset_answered_streams(Clock::time_point now) {
  std::vector<std::int32_t> to_reset;
  for (const auto& [id, stream] : streams_) {
    if (stream->answered_at && now - *stream->answered_at >= runtime_.settings.body_idle_timeout &&
        nghttp2_session_get_stream_remote_close(session(), id) == 0) {
      to_reset.push_back(id);
    }
  }
  for (const std::int32_t id : to_reset) {
    count_reset("request_open_after_response");
    nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
  }
  if (!to_reset.empty()) want_write();
}

void ServerConnection::release_headers(ServerStream& stream, bool drop_head) {
  open_header_bytes_ -= stream.header_charge;
  stream.header_charge = 0;
  if (drop_head) stream.head.block = {};
}

int ServerConnection::on_begin_frame(const nghttp2_frame_hd& header) {
  // A new stream below an id already used (RFC 9113 5.1.1): nghttp2 would
  // ignore it; the connection ends with PROTOCOL_ERROR (FrameIo::feed).
  if (header.type == NGHTTP2_HEADERS && !skipped_ids_.headers_allowed(header.stream_id)) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int ServerConnection::on_begin_headers(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;
  if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
    auto stream = make_recycled<ServerStream>();
    stream->id = frame.hd.stream_id;
    stream->connection_alive = alive_;
    last_found_ = nullptr;  // (an id is never reused: belt and braces)
    streams_[stream->id] = std::move(stream);
  } else if (ServerStream* stream = find(frame.hd.stream_id)) {
    stream->in_trailers = true;
  }
  return 0;
}

int ServerConnection::on_header(const nghttp2_frame& frame, std::string_view name,
                                std::string_view value) {
  ServerStream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  // Past the header list limit the stream is reset at once: nghttp2 then
  // skips the rest of the block unchecked (an HPACK bomb costs no more CPU
  // than the limit's worth of fields).
  const std::size_t size = name.size() + value.size() + 32;
  const std::size_t listed = stream->in_trailers ? stream->trailers.size : stream->head.block.size;
  const bool list_too_large = listed + size > limits_.max_header_list_size;
  // The open streams' lists together: many streams each at the list limit,
  // from a few bytes of HPACK references each, would hold megabytes.
  const bool open_too_large =
      open_header_bytes_ + size > runtime_.settings.http2_max_open_header_bytes;
  if (list_too_large || open_too_large) {
    stream->trailers.clear();
    // (Not the head under trailers: its handler's request views into it.)
    release_headers(*stream, !stream->in_trailers);
    count_reset(list_too_large ? "header_list_too_large" : "open_header_bytes");
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  stream->header_charge += size;
  open_header_bytes_ += size;
  if (stream->in_trailers) {
    stream->trailers.add(name, value);
    return 0;
  }
  stream->head.block.add(name, value);
  return 0;
}

int ServerConnection::on_frame_recv(const nghttp2_frame& frame) {
  if (frame.hd.type == NGHTTP2_RST_STREAM) ++resets_received_;
  ServerStream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  if (carries_content(frame.hd)) ++stream->activity;
  const bool end = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame.hd.type == NGHTTP2_HEADERS) {
    if (stream->in_trailers) {
      stream->exchange.request_body.end(std::move(stream->trailers));
      return 0;
    }
    stream->head.end_stream = end;
    if (end) stream->exchange.request_body.end();
    start_handler(streams_[frame.hd.stream_id]);
  } else if (frame.hd.type == NGHTTP2_DATA && end) {
    stream->exchange.request_body.end();
  }
  return 0;
}

int ServerConnection::on_data_chunk(std::int32_t stream_id, std::string_view data) {
  ServerStream* stream = find(stream_id);
  if (stream == nullptr) {
    nghttp2_session_consume_connection(session(), data.size());
    want_write();
    return 0;
  }
  stream->request_bytes += data.size();
  ++stream->activity;
  stream->exchange.request_body.append(data);
  return 0;
}

int ServerConnection::on_stream_close(std::int32_t stream_id, std::uint32_t error_code) {
  const auto it = streams_.find(stream_id);
  if (it == streams_.end()) return 0;
  const std::shared_ptr<ServerStream> stream = it->second;
  streams_.erase(it);
  last_found_ = nullptr;
  stream->closed = true;
  // (The head itself goes when its handler ends.)
  release_headers(*stream, false);
  BodyPipe& request = stream->exchange.request_body;
  if (!request.ended()) {
    // Never to be taken: the connection's window gets its bytes back.
    nghttp2_session_consume_connection(session(), request.buffered());
    request.abort();
  }
  if (stream->response) {
    stream->response->on_readable = nullptr;
    if (!stream->response->finished()) stream->response->cancel();
  }
  if (stream->grpc_metrics) {
    // The status is in the trailers of a response relayed whole; a stream
    // that ended otherwise has none.
    std::optional<grpc::Status> status;
    if (error_code == NGHTTP2_NO_ERROR && stream->response && stream->response->finished()) {
      status = grpc::parse_status(stream->response->trailers().find("grpc-status"));
    }
    stream->grpc_metrics->grpc_response(status).inc();
    stream->grpc_metrics.reset();
  }
  // Reset before its response went whole: nobody waits for an answer.
  if (error_code != NGHTTP2_NO_ERROR || !stream->responded) stream->exchange.client_went_away();
  return 0;
}

void ServerConnection::start_handler(std::shared_ptr<ServerStream> stream) {
  BodyPipe& request = stream->exchange.request_body;
  // The request body's window reopens as the upstream side takes its bytes.
  // (The pipe is in the stream: the stream lives while it is called.)
  request.on_taken = [this, taker = stream.get()](std::size_t n) {
    if (!*taker->connection_alive) return;
    nghttp2_session_consume(session(), taker->id, n);
    want_write();
  };
  ++handlers_;
  auto handler = carries_http1(*stream) ? handle<bridge::Http1Sender>(std::move(stream))
                                        : handle<http2::Upstream>(std::move(stream));
  asio::co_spawn(stream_.get_executor(), std::move(handler),
                 [this](const std::exception_ptr& error) {
                   --handlers_;
                   handlers_done_.notify();
                   if (error) {
                     runtime_.log.warn("HTTP/2 stream ended by an exception");
                   }
                 });
}

const std::shared_ptr<RouteMetrics>& ServerConnection::route_metrics(std::string_view target,
                                                                     std::string_view route,
                                                                     const TlsPeer& peer,
                                                                     std::string_view route_rule,
                                                                     std::string_view backend) {
  std::string key;
  key.reserve(target.size() + route.size() + route_rule.size() + backend.size() +
              peer.identity.size() + 5);
  key.append(target).append(1, '\0').append(route).append(1, '\0');
  key.append(route_rule).append(1, '\0').append(backend).append(1, '\0');
  key.append(1, static_cast<char>(peer.status)).append(peer.identity);
  if (cached_metrics_ == nullptr || key != cached_key_) {
    const MetricTarget label =
        target == destination_text_
            ? metric_target(worker_.routes.snapshot().get(), target_.direction, target_.destination)
            : MetricTarget{std::string(target), true};
    cached_metrics_ = runtime_.metrics.route(target_.direction, label, std::string(route), peer,
                                             route_rule, backend);
    cached_key_ = std::move(key);
  }
  return cached_metrics_;
}

void ServerConnection::submit_response(ServerStream& stream, const HeaderList& head,
                                       const nghttp2_data_provider* body) {
  if (stream.closed || stream.responded) return;
  stream.responded = true;
  const auto nv = http2::to_nv(head);
  nghttp2_submit_response(session(), stream.id, nv.data(), nv.size(), body);
  // A lone exchange goes out now; many answering in one turn share a write,
  // or one per batch between meshed proxies (write_batch.h).
  exchange_ready();
}

void ServerConnection::respond_locally(ServerStream& stream, int status, std::string_view reason,
                                       bool grpc, bool head_request,
                                       std::uint32_t retry_after_seconds) {
  // The rest of a request body nobody will read is dropped as it comes
  // (its window kept open), then the stream is done.
  BodyPipe& request = stream.exchange.request_body;
  if (!request.ended()) request.cancel();
  stream.answered_locally = true;
  http2::LocalResponse answer =
      http2::local_response(status, reason, grpc, head_request, retry_after_seconds);
  if (answer.body.empty()) {
    submit_response(stream, answer.head, nullptr);
    return;
  }
  stream.local_body.body = std::make_shared<const std::string>(std::move(answer.body));
  const nghttp2_data_provider provider = http2::held_provider(stream.local_body);
  submit_response(stream, answer.head, &provider);
}

bool ServerConnection::carries_http1(const ServerStream& stream) const {
  // Only a peer proxy marks a stream, and only over mTLS: from anyone else
  // the field is dropped (http2::to_request) and the stream stays HTTP/2.
  return target_.direction == Direction::kInbound && !target_.client_identity.empty() &&
         stream.head.block.find(bridge::kOriginalProtocolField) == bridge::kHttp11;
}

template <class U>
U ServerConnection::make_upstream(std::shared_ptr<Exchange> exchange, const HeaderList& forwarded,
                                  bool has_body) {
  if constexpr (std::is_same_v<U, bridge::Http1Sender>) {
    return U(worker_.pool, stream_.get_executor(), std::move(exchange), forwarded, has_body,
             {.connect_timeout = runtime_.settings.connect_timeout,
              .max_interim_responses = runtime_.settings.max_interim_responses,
              .new_connection_retries =
                  &runtime_.metrics.metrics().upstream_retry_on_new_connection_total});
  } else {
    return U(worker_.http2.of(target_.direction), stream_.get_executor(), std::move(exchange),
             forwarded, has_body, upstream_settings_);
  }
}

template <class U>
void ServerConnection::relay_response(ServerStream& stream, U& upstream) {
  const std::shared_ptr<http2::ClientStream> from = upstream.stream();
  upstream.release();
  if (from->end_at_head) {
    submit_response(stream, from->head, nullptr);
    return;
  }
  stream.response = from->response;
  if (stream.closed) {
    stream.response->cancel();
    return;
  }
  // Cleared when the stream leaves streams_ (closed, or the reader ended)
  // and when it is destroyed: while set, the stream is alive (and this
  // while connection_alive says so).
  stream.response->on_readable = [this, reader = &stream] {
    if (!*reader->connection_alive) return;
    nghttp2_session_resume_data(session(), reader->id);
    want_write();
  };
  const nghttp2_data_provider provider = http2::pipe_provider(*stream.response);
  submit_response(stream, from->head, &provider);
}

template <class U>
awaitable<bool> ServerConnection::keep_body(ServerStream& stream, U& upstream) {
  BodyPipe& pipe = stream.exchange.request_body;
  http2::Signal arrived(stream_.get_executor());
  pipe.on_readable = [&arrived] { arrived.notify(); };
  std::string body;
  auto idle_until = Clock::now() + runtime_.settings.body_idle_timeout;
  while (!pipe.aborted()) {
    const std::size_t before = body.size();
    body += pipe.take_all();
    if (pipe.finished()) break;
    const auto now = Clock::now();
    if (body.size() != before) idle_until = now + runtime_.settings.body_idle_timeout;
    if (now >= idle_until) {
      runtime_.metrics.metrics().limit_reached(target_.direction, Limit::kBodyIdleTimeout).inc();
      break;
    }
    co_await arrived.wait(idle_until);
  }
  pipe.on_readable = nullptr;
  if (!pipe.finished()) co_return false;
  upstream.keep_body(std::move(body));
  co_return true;
}

// Its coroutine frame (GCC keeps every local in it) is 1,016 bytes: under
// glibc's per-thread cache limit (1,032), with the request's conversion in
// the stream. Mind it when adding a local (bench/proxy/instructions_h2.sh:
// the mallocs per request; ltrace or a malloc histogram: the sizes).
template <class U>
awaitable<void> ServerConnection::handle(std::shared_ptr<ServerStream> stream_ptr) {
  ServerStream& stream = *stream_ptr;
  const auto started = Clock::now();
  // The head goes when the handler ends, and with it `converted`, which
  // views into it. (`alive`: a frame destroyed by the event loop's shutdown
  // may outlive this.)
  struct HeadRelease {
    ServerConnection& connection;
    ServerStream& stream;
    std::shared_ptr<bool> alive;
    ~HeadRelease() {
      stream.route = {};  // (the snapshot it holds goes with the handler, as before)
      if (!*alive) return;
      stream.converted = {};
      connection.release_headers(stream, true);
    }
  } head_release{*this, stream, alive_};
  http2::ConvertedRequest& converted = stream.converted;
  http2::to_request(stream.head, converted);
  Request& request = converted.request;
  const bool grpc = converted.grpc;
  stream.grpc = grpc;
  const bool head_request = request.method == "HEAD";
  // Plaintext HTTP/2 is never a kubelet probe: refused under Strict.
  Plan& route = stream.route;
  route = converted.refusal.status != 0 ? Plan{}
                                        : plan_request(worker_, target_, destination_text_, request,
                                                       false, stream.refusal_body);
  if (converted.refusal.status != 0) {
    route.local = converted.refusal;
    route.target_label = destination_text_;
  }
  std::shared_ptr<RouteMetrics> metrics;
  std::optional<std::string_view> peer_identity;
  const auto counted = [&]() -> RouteMetrics& {
    if (metrics == nullptr) {
      metrics = route_metrics(
          route.target_label, route.route_label,
          peer_with(peer_identity    ? *peer_identity
                    : route.snapshot ? route.snapshot->identity_of(target_.destination)
                                     : std::string_view()),
          route.route_rule_label, route.backend_label);
      metrics->requests.inc();
    }
    return *metrics;
  };
  if (target_.direction == Direction::kInbound) counted();
  const auto record = [&](int status, Clock::time_point at = Clock::now()) {
    RouteMetrics& counters = counted();
    counters.response(status).inc();
    counters.latency_ms.observe(std::chrono::duration<double, std::milli>(at - started).count());
  };
  // A local answer; to a gRPC request, counted with the grpc-status it carries.
  const auto answer = [&](const LocalAnswer& local) {
    record(local.status);
    if (grpc) counted().grpc_response(grpc::status_for_local_answer(local.status)).inc();
    respond_locally(stream, local.status, local.reason, grpc, head_request,
                    local.retry_after_seconds);
  };
  if (route.local.status != 0) {
    // A refusal that ends the connection (plaintext under Strict, as HTTP/1
    // closes): GOAWAY once it is sent; no new stream is taken, the open ones
    // finish (refused too, as they come). Set first: the answer may be sent
    // at once.
    stream.goaway_after_response = route.local.close;
    answer(route.local);
    co_return;
  }
  const bool has_body = request.body.kind != BodySource::Kind::kNone;
  U upstream = make_upstream<U>(std::shared_ptr<Exchange>(stream_ptr, &stream.exchange),
                                converted.forwarded, has_body);
  if constexpr (std::is_same_v<U, bridge::Http1Sender>) {
    if (!upstream.valid()) {
      answer({.status = 400, .reason = "request head not valid as HTTP/1.1"});
      co_return;
    }
    runtime_.metrics.metrics()
        .http1_upgraded_requests_total.with_labels({std::string(to_string(target_.direction))})
        .inc();
  }
  bool replayable = !has_body;
  if (has_body && should_keep_body(route.retry(), request.body.kind == BodySource::Kind::kSized,
                                   request.body.length, false)) {
    const bool kept = co_await keep_body(stream, upstream);
    if (!kept) {
      if (stream.closed) {
        counted();
        co_return;
      }
      answer({.status = 408, .reason = "request body not received in time"});
      co_return;
    }
    replayable = true;
  } else if (has_body && route.retry() != nullptr &&
             request.body.kind == BodySource::Kind::kStreamed) {
    // No length (every gRPC call): streamed, and copied for a retry.
    upstream.copy_body_for_replay(kMaxReplayBody);
  }
  if (route.budget) route.budget->on_request(started);
  RequestTimeouts timeouts =
      request_timeouts(route.rule, started, runtime_.settings.response_timeout);
  if (grpc && converted.grpc_timeout) {
    cap_by_client_deadline(timeouts, started, *converted.grpc_timeout);
  }
  const Forwarded forwarded =
      co_await forward(upstream, {.plan = route,
                                  .timeouts = timeouts,
                                  .destination = target_.destination,
                                  .random = worker_.routes.random(),
                                  .executor = stream_.get_executor(),
                                  .started = started,
                                  .replayable = replayable,
                                  .idempotent = is_idempotent_method(request.method)});
  peer_identity = forwarded.identity;
  RouteMetrics& handles = counted();
  if (forwarded.retries > 0) handles.retries.inc(forwarded.retries);
  if (forwarded.budget_exhausted > 0) handles.budget_exhausted.inc(forwarded.budget_exhausted);
  const TryResult& result = forwarded.result;
  if (forwarded.no_endpoint) {
    answer({.status = 503, .reason = "no endpoint available"});
    co_return;
  }
  if (result.failure == TryFailure::kClientGone) co_return;
  if (result.failure == TryFailure::kTimeout && timeouts.response_wait) {
    runtime_.metrics.metrics().limit_reached(target_.direction, Limit::kResponseTimeout).inc();
  }
  if (result.failure != TryFailure::kNone) {
    upstream.drop_connection();
    answer(failure_status(result.failure));
    co_return;
  }
  record(result.status, forwarded.ended);
  if (grpc) {
    if (upstream.stream()->end_at_head) {
      handles.grpc_response(result.grpc_status).inc();  // trailers-only
    } else {
      stream.grpc_metrics = metrics;  // counted when its trailers came
    }
  }
  stream.deadline = timeouts.deadline;
  relay_response(stream, upstream);
}

void ServerConnection::tick(Clock::time_point now) {
  if (runtime_.draining.load(std::memory_order_relaxed)) send_goaway("drain");
  reset_answered_streams(now);
  const auto stall_limit = runtime_.settings.body_idle_timeout;
  std::vector<std::pair<std::int32_t, std::string_view>> to_reset;
  for (auto& [id, stream] : streams_) {
    // No HEADERS nor DATA either way (gRPC too: a long stream that moves
    // bytes is never cut; one that moves none holds its slot and upstream
    // stream).
    if (stream->idle.stalled(stream->activity, true, now,
                             runtime_.settings.http2_stream_idle_timeout)) {
      to_reset.emplace_back(id, "stream_idle_timeout");
      continue;
    }
    const BodyPipe& request = stream->exchange.request_body;
    // The proxy waits for the client's body (none of it waits for the
    // upstream): idle that long, the stream is reset, as HTTP/1 answers 408.
    if (!stream->grpc && !stream->responded && !request.ended() && !request.cancelled() &&
        request.buffered() == 0) {
      if (stream->request_bytes != stream->request_bytes_seen || !stream->request_idle_since) {
        stream->request_bytes_seen = stream->request_bytes;
        stream->request_idle_since = now;
      } else if (now - *stream->request_idle_since >= stall_limit) {
        runtime_.metrics.metrics().limit_reached(target_.direction, Limit::kBodyIdleTimeout).inc();
        to_reset.emplace_back(id, "body_idle_timeout");
        continue;
      }
    } else {
      stream->request_idle_since.reset();
    }
    if (!stream->response || stream->response->finished()) continue;
    if (stream->deadline && now >= *stream->deadline) {
      to_reset.emplace_back(id, "request_timeout");
      continue;
    }
    // Bytes wait and the client's window stays shut: a reader that never
    // reads holds the stream, and its upstream's, for no longer than this.
    const bool shut = stream->response->buffered() > 0 &&
                      (nghttp2_session_get_stream_remote_window_size(session(), id) <= 0 ||
                       nghttp2_session_get_remote_window_size(session()) <= 0);
    if (!shut) {
      stream->stalled_since.reset();
    } else if (!stream->stalled_since) {
      stream->stalled_since = now;
    } else if (now - *stream->stalled_since >= stall_limit) {
      to_reset.emplace_back(id, "stalled_stream");
    }
  }
  for (const auto& [id, limit] : to_reset) {
    count_reset(limit);
    nghttp2_submit_rst_stream(session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
  if (!to_reset.empty()) want_write();
}

awaitable<void> ServerConnection::reader_ended() {
  std::exception_ptr error;
  try {
    retired_streams_.reserve(retired_streams_.size() + streams_.size());
    for (auto& [id, stream] : streams_) {
      stream->closed = true;
      BodyPipe& request = stream->exchange.request_body;
      if (!request.ended()) request.abort();
      if (stream->response) {
        stream->response->on_readable = nullptr;
        if (!stream->response->finished()) stream->response->cancel();
      }
      stream->exchange.client_went_away();
      retired_streams_.push_back(stream);
    }
    streams_.clear();
    last_found_ = nullptr;
  } catch (...) {
    error = std::current_exception();  // (memory)
  }
  // Always joined: a handler uses this connection until it ends.
  while (handlers_ > 0) co_await handlers_done_.wait();
  *alive_ = false;
  if (error) std::rethrow_exception(error);
}

}  // namespace

awaitable<ConnectionBytes> serve_http2(Worker& worker, Stream& client, ReadBuffer& buffer,
                                       ConnectionTarget target) {
  ServerConnection connection(worker, client, target);
  co_return co_await connection.run(buffer);
}

}  // namespace weft::proxy
