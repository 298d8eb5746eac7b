#pragma once

// Inbound, one HTTP/2 stream that a peer proxy marked as an HTTP/1.1
// request (`weft-orig-proto: HTTP/1.1`, on an mTLS connection from a mesh
// identity) sent to the app as HTTP/1.1: the Upstream of the HTTP/2 server
// side's tries, in place of http2::Upstream, over the worker's HTTP/1
// connection pool (pooled, probed, limited as every HTTP/1 try). The
// request body goes from the stream's BodyPipe to the app's socket as it
// arrives (Content-Length or chunked, trailers included), the response head
// becomes the stream's HTTP/2 head, and its body and trailers go into the
// stream's response pipe only as fast as the HTTP/2 client takes them
// (kPipeLimit ahead at most): flow control end to end.
//
// Each try's connection and the two coroutines that move its bodies share
// one AppCall; the coroutines hold it, so the server side may let the
// sender go once the response head is relayed. The connection returns to
// the pool when both bodies went whole and the app keeps it alive.

#include <memory>
#include <optional>
#include <string>

#include "proxy/bridge/head_translation.h"
#include "proxy/core/asio.h"
#include "proxy/http2/client.h"
#include "proxy/http2/exchange.h"
#include "proxy/http2/header_list.h"
#include "proxy/layers/connection.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/grpc.h"
#include "proxy/request/outcome.h"
#include "weft/metrics.h"

namespace weft::proxy::bridge {

struct SenderSettings {
  Clock::duration connect_timeout{};
  std::size_t max_interim_responses = 10;  // 1xx skipped per try before a 502
  Counter* new_connection_retries = nullptr;
};

struct AppCall;

class Http1Sender {
 public:
  // Response body bytes read from the app ahead of what the client took.
  static constexpr std::size_t kPipeLimit = 64 * 1024;

  // `block`: the stream's forwarded header block (marker already stripped).
  Http1Sender(UpstreamPool& pool, const Executor& executor,
              std::shared_ptr<http2::Exchange> exchange, const http2::HeaderList& block,
              bool has_body, const SenderSettings& settings);
  ~Http1Sender();
  Http1Sender(const Http1Sender&) = delete;
  Http1Sender& operator=(const Http1Sender&) = delete;

  // The block makes a valid HTTP/1.1 head (otherwise the stream gets a 400).
  bool valid() const { return valid_; }
  // The body, kept whole for replay.
  void keep_body(std::string body) { kept_body_ = std::move(body); }
  // (A streamed body to the app is not copied for a retry.)
  void copy_body_for_replay(std::size_t /*limit*/) {}

  // The Upstream interface of the layer stack (the app is plaintext).
  awaitable<TryFailure> send_try(const tcp::endpoint& address, std::string_view identity,
                                 const RequestTimeouts& timeouts, bool replayable,
                                 bool& body_started);
  int response_status() const { return status_; }
  std::optional<grpc::Status> response_grpc_status() const { return std::nullopt; }
  bool connection_reused() const { return reused_; }
  bool request_body_done() const;
  bool body_replayable() const { return false; }
  void drop_connection() { abandon(); }
  bool response_started() const;
  void next_try_on_new_connection();

  // After a try without failure: the response as an HTTP/2 stream (head,
  // body pipe) for the server side to relay.
  const std::shared_ptr<http2::ClientStream>& stream() const;
  // The server side relays it: the response body starts flowing into the pipe.
  void release();

 private:
  void abandon();

  UpstreamPool& pool_;
  Executor executor_;
  std::shared_ptr<http2::Exchange> exchange_;
  const bool has_body_;
  const SenderSettings settings_;
  Http1RequestOut head_;
  bool valid_ = false;
  std::string kept_body_;
  bool fresh_next_ = false;
  bool reused_ = false;
  int status_ = 0;
  std::shared_ptr<AppCall> call_;
};

}  // namespace weft::proxy::bridge
