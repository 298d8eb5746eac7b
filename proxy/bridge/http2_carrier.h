#pragma once

// Outbound, one HTTP/1.1 request carried to a meshed peer proxy as an HTTP/2
// stream: on the mTLS connection the worker's HTTP/2 pool keeps for that
// peer (http2::Upstream does the tries), so a busy HTTP/1 client needs one
// connection per peer proxy, not one per request in flight. The request head
// goes as an HTTP/2 block marked `weft-orig-proto: HTTP/1.1`
// (head_translation.h); its body streams from the client's socket into the
// stream's BodyPipe, read only as the peer's window takes it (at most
// kPipeLimit bytes ahead); the response's head, body and trailers are
// written back as HTTP/1.1, the body taken from the pipe only as the client
// socket takes it. The peer proxy turns the stream into HTTP/1.1 again for
// its app (bridge/http1_sender.h).
//
// Expect: 100-continue: the carrier answers the 100 itself, as Envoy does
// by default, since HTTP/2 between the proxies carries no interim response
// here; the app still sees the Expect field, and its own final answer
// before the body ends the exchange as on the HTTP/1 path.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proxy/core/asio.h"
#include "proxy/core/child_task.h"
#include "proxy/core/deadline.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/http1/client.h"
#include "proxy/http2/client.h"
#include "proxy/http2/exchange.h"
#include "proxy/http2/header_list.h"
#include "proxy/http2/signal.h"
#include "proxy/http2/upstream.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/grpc.h"
#include "proxy/request/outcome.h"
#include "weft/metrics.h"

namespace weft::proxy::bridge {

struct CarrierSettings {
  http2::UpstreamSettings upstream;
  // On the client's silence while its request body is read (then
  // body_timed_out(), and the counter, if any, counts it).
  Clock::duration body_idle_timeout{};
  Counter* body_idle_timeouts = nullptr;
  // The peer proxies' header list limit (--http2-max-header-list-size): a
  // head past it keeps HTTP/1 (acceptable_as_http2).
  std::size_t max_header_list_size = 32 * 1024;
};

class Http2Carrier {
 public:
  // Request body bytes read from the client ahead of what the peer took.
  static constexpr std::size_t kPipeLimit = 64 * 1024;

  Http2Carrier(http2::ClientPool& pool, http1::Downstream downstream,
               const CarrierSettings& settings);
  ~Http2Carrier();
  Http2Carrier(const Http2Carrier&) = delete;
  Http2Carrier& operator=(const Http2Carrier&) = delete;

  // A new request; call before the head's bytes are consumed. False when
  // HTTP/2 cannot carry it (its target: http1_request_to_http2).
  bool start(const http1::RequestHead& head, const http1::RequestFacts& facts,
             std::string_view destination_text);
  // The body the HTTP/1 client side kept whole for retries.
  void use_kept_body(const std::string& body);

  // The Upstream interface of the layer stack (a try needs `identity`).
  awaitable<TryFailure> send_try(const tcp::endpoint& address, std::string_view identity,
                                 const RequestTimeouts& timeouts, bool replayable,
                                 bool& body_started);
  int response_status() const { return status_; }
  bool connection_reused() const { return upstream_ && upstream_->connection_reused(); }
  bool response_started() const { return upstream_ && upstream_->response_started(); }
  std::optional<grpc::Status> response_grpc_status() const { return std::nullopt; }
  bool request_body_done() const;
  bool body_replayable() const { return false; }
  void drop_connection() {
    if (upstream_) upstream_->drop_connection();
  }
  void next_try_on_new_connection() {
    if (upstream_) upstream_->next_try_on_new_connection();
  }
  bool body_timed_out() const { return body_timed_out_; }
  // Part of the client's body was read into the stream's pipe: no try of
  // this request can go out over HTTP/1 any more.
  bool body_taken() const { return body_taken_; }

  // After a try without failure: writes the response to the client as
  // HTTP/1.1 (Connection: close unless `keep_alive`), then stops reading a
  // request body the peer no longer wants. True when the client connection
  // may carry another request.
  awaitable<bool> relay_response(bool keep_alive, const RequestTimeouts& timeouts);

  // Stops the request body's reader and waits for it (before the client's
  // socket is read again, or the carrier goes).
  awaitable<void> finish_request_pump();

 private:
  enum class PumpResult { kRunning, kDone, kMalformed, kClientGone, kStopped };
  awaitable<void> run_request_pump();
  awaitable<bool> write_client(std::string_view bytes);
  void detach_pipe();

  http2::ClientPool& pool_;
  http1::Downstream downstream_;
  const CarrierSettings settings_;
  http2::HeaderList head_;
  http1::RequestFacts facts_;
  std::shared_ptr<http2::Exchange> exchange_;
  std::optional<http2::Upstream> upstream_;
  bool kept_ = false;  // the body went to upstream_ whole
  std::string kept_body_;
  int status_ = 0;
  bool continue_sent_ = false;
  // The request body's reader.
  http1::BodyDecoder decoder_;
  Deadline body_deadline_;
  bool body_timed_out_ = false;
  bool body_taken_ = false;
  bool pump_stop_ = false;
  PumpResult pump_result_ = PumpResult::kDone;
  http2::Signal pump_wake_;  // the peer took bytes, or cancelled
  ChildTask pump_;
  // The response's relay.
  http2::Signal response_wake_;
  std::string out_;
  std::string trailers_;
};

}  // namespace weft::proxy::bridge
