#pragma once

// The HTTP/2 codec's client side for one request: the Upstream of the layer
// stack (proxy/layers/stack.h). Each try is a new stream on a pooled
// connection to the chosen endpoint (ClientPool): the request's head, then
// its body, from memory when it was kept whole for retries, otherwise
// streamed from the client's stream as it arrives (BodyPipe, flow control
// end to end). The try ends when the final response head comes; its body
// and trailers then stream to the client's stream through the response pipe.

#include <memory>
#include <optional>
#include <string>

#include "proxy/core/asio.h"
#include "proxy/http2/client.h"
#include "proxy/http2/exchange.h"
#include "proxy/http2/header_list.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/grpc.h"
#include "proxy/request/outcome.h"
#include "proxy/tls/tls_context.h"
#include "weft/metrics.h"

namespace weft::proxy::http2 {

struct UpstreamSettings {
  Clock::duration connect_timeout{};
  // mTLS to meshed endpoints (null: never, as inbound to the app).
  TlsContexts* tls = nullptr;
  TlsMetrics* tls_metrics = nullptr;
  Counter* new_connection_retries = nullptr;
};

class Upstream {
 public:
  // `head`: the header block to send; `has_body`: the request has one (in
  // the exchange's pipe).
  Upstream(ClientPool& pool, const Executor& executor, std::shared_ptr<Exchange> exchange,
           const HeaderList& head, bool has_body, const UpstreamSettings& settings);
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  // The body, kept whole for replay (its bytes already taken from the pipe).
  void keep_body(std::string body) { kept_body_ = std::move(body); }
  // A body of unknown length on a route that retries: the first try streams
  // it and keeps a copy of up to `limit` bytes, so that once the client's
  // stream ended within it the request can be tried again
  // (body_replayable), without holding a streaming call back.
  void copy_body_for_replay(std::size_t limit) { copy_limit_ = limit; }

  awaitable<TryFailure> send_try(const tcp::endpoint& address, std::string_view identity,
                                 const RequestTimeouts& timeouts, bool replayable,
                                 bool& body_started);
  int response_status() const { return status_; }
  std::optional<grpc::Status> response_grpc_status() const;
  // The try's connection had carried streams before; or its stream was
  // refused unprocessed: either way, worth one more try on a new connection.
  bool connection_reused() const { return reused_; }
  bool request_body_done() const;
  // The last try streamed the whole body, ended without trailers, and kept
  // all of it (copy_body_for_replay): the next try sends the copy.
  bool body_replayable() const;
  void drop_connection();
  bool response_started() const { return stream_ && stream_->response_started; }
  void next_try_on_new_connection();

  // After a try without failure: its stream (head, response pipe).
  const std::shared_ptr<ClientStream>& stream() const { return stream_; }
  // The response is relayed: the try's stream is no longer this one's to
  // stop, nor to wake it (this goes before the stream does).
  void release() {
    if (stream_) stream_->waiter = nullptr;
    if (exchange_) exchange_->on_client_gone = nullptr;
    stream_.reset();
    connection_.reset();
  }

 private:
  void detach();

  ClientPool& pool_;
  std::shared_ptr<Exchange> exchange_;
  const HeaderList& head_;
  const bool has_body_;
  const UpstreamSettings settings_;
  std::string kept_body_;
  std::size_t copy_limit_ = 0;  // 0: a streamed body is not copied
  bool fresh_next_ = false;
  bool reused_ = false;
  int status_ = 0;
  Signal signal_;
  std::shared_ptr<ClientConnection> connection_;
  std::shared_ptr<ClientStream> stream_;
};

}  // namespace weft::proxy::http2
