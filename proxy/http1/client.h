#pragma once

// The HTTP/1 codec's client side: writes a request to an upstream, try after
// try, and reads the response. It is the Upstream of the layer stack
// (proxy/layers/stack.h): send_try takes a pooled connection or connects one
// (the connection layer), writes the head and the body (whole from memory
// when it is kept for replay, streamed otherwise), relays interim responses
// and reads the final response head within the try's limit. After the stack
// is done, the server side relays the response body through it and the
// connection goes back to the pool when the exchange ended cleanly.
//
// The request body is read from the HTTP/1 client connection it arrived on
// (the server side's socket and buffer): with HTTP/1 on both sides, a body
// streams from one socket to the other without a copy. HTTP/2's server side
// will hand its body over as a stream of DATA frames instead.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/core/asio.h"
#include "proxy/core/child_task.h"
#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/body_decoder.h"
#include "proxy/http1/body_pump.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/message.h"
#include "proxy/layers/connection.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/grpc.h"
#include "proxy/request/outcome.h"
#include "weft/metrics.h"

namespace weft::proxy::http1 {

// The request facts needed after its head's bytes are gone from the buffer.
struct RequestFacts {
  bool is_head = false;
  bool keep_alive = true;
  bool upgrade = false;
  bool expect_continue = false;
  int minor_version = 1;
  BodyKind body = BodyKind::kNone;
  std::uint64_t content_length = 0;
};
RequestFacts facts_of(const RequestHead& head);

// The HTTP/1 client connection a request came from: its body is read from
// there, and interim responses (100 Continue) are written back to it.
struct Downstream {
  Stream& socket;
  ReadBuffer& buffer;
  std::uint64_t& bytes_read;
  std::uint64_t& bytes_written;
};

struct ClientLimits {
  Clock::duration connect_timeout{};  // the connection layer's, on a new connection
  // On the client's silence while its request body is read (then
  // body_timed_out(), and the counter, if any, counts it).
  Clock::duration body_idle_timeout{};
  Counter* body_idle_timeouts = nullptr;
  // Counts next_try_on_new_connection (may be null).
  Counter* new_connection_retries = nullptr;
  std::size_t max_interim_responses = 10;  // 1xx relayed per request before a 502
  // mTLS to meshed endpoints: the worker's contexts (null: none) and the
  // outbound handshake failure counters.
  TlsContexts* tls = nullptr;
  TlsMetrics* tls_metrics = nullptr;
};

class Client {
 public:
  Client(UpstreamPool& pool, Downstream downstream, const ClientLimits& limits);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // A new request: its head re-written for the upstream (`destination_text`,
  // "address:port", stands in for a missing Host). Call before the head's
  // bytes are consumed; no earlier request's body or connection is kept.
  void start(const RequestHead& head, const RequestFacts& facts, std::string_view destination_text);

  // Reads the whole request body into memory, so that a try can be repeated
  // (the retries layer decides when: should_keep_body).
  enum class KeptBody { kKept, kMalformed, kClientGone, kTimedOut };
  awaitable<KeptBody> keep_body();

  // The Upstream interface of the layer stack.
  // `identity`: what the endpoint must prove over mTLS (empty: plaintext).
  awaitable<TryFailure> send_try(const tcp::endpoint& address, std::string_view identity,
                                 const RequestTimeouts& timeouts, bool replayable,
                                 bool& body_started);
  int response_status() const { return response_.status; }
  bool connection_reused() const { return upstream_ && upstream_->reused; }
  // Some byte of a response (interim or final) arrived during the last try.
  bool response_started() const { return response_started_; }
  // HTTP/1 carries no gRPC.
  std::optional<grpc::Status> response_grpc_status() const { return std::nullopt; }
  bool request_body_done() const { return request_body_done_; }
  // The body keep_body() read (for a try carried over HTTP/2 instead).
  const std::string& kept_body() const { return replay_body_; }
  // A body HTTP/1 streams (chunked, or past kMaxReplayBody) is not copied.
  bool body_replayable() const { return false; }
  // The request body's client went silent past the body idle timeout.
  bool body_timed_out() const { return body_timed_out_; }
  // The last try failed because of too many interim responses.
  bool interim_limit_hit() const { return interim_limit_hit_; }
  void drop_connection() { upstream_.reset(); }
  // The next try goes on a new connection, not a pooled one (counted).
  void next_try_on_new_connection();

  // The last try's final response head (views into the connection's buffer).
  const ResponseHead& response() const { return response_; }

  // Streams the response body to the client as out_kind, after `head` (the
  // response head as the server side re-wrote it), within the request's
  // deadline; then ends the request body's stream and pools the connection
  // if the exchange ended cleanly. True when the whole body was relayed.
  awaitable<bool> relay_response(BodyKind out_kind, std::string_view head,
                                 const RequestTimeouts& timeouts);

  // After a 101 Switching Protocols: the request body's stream ended and the
  // connection handed over for the tunnel (its buffer holds the bytes after
  // the response head). Null when there is none.
  awaitable<UpstreamConnection*> upgrade();

  // Ends the request pump and waits for it: its client read is cancelled, and
  // the upstream connection closed, since a cancel cannot stop a write
  // already under way (async_write's next piece starts after it) towards an
  // upstream that stopped reading. kKeepUpstream only cancels, for a
  // connection that goes on (an upgrade). Awaited before the upstream
  // connection is dropped, and before the Client goes: the pump runs on its
  // members (the server side awaits it when a session ends by an exception).
  enum class PumpEnd { kCloseUpstream, kKeepUpstream };
  awaitable<void> finish_request_pump(PumpEnd end = PumpEnd::kCloseUpstream);

 private:
  // Reads a response head; forwards interim (1xx) ones to HTTP/1.1 clients.
  awaitable<TryFailure> read_response_head();
  awaitable<TryFailure> write_try(bool replayable, bool& body_started);
  // The request body streams to the upstream in its own coroutine while the
  // response is read (full duplex): an upstream may answer before it has read
  // the whole body (413, or a 200 that ignores it), and that answer is relayed.
  void start_request_pump(std::string_view prefix);
  awaitable<void> run_request_pump(std::string_view prefix);
  awaitable<bool> write_downstream(std::string_view bytes);
  void note_body_timeout();
  // Once the whole request is sent: the wait for its response head starts.
  void arm_response_wait();

  UpstreamPool& pool_;
  Downstream downstream_;
  const ClientLimits limits_;
  Deadline body_deadline_;  // on the client's socket, while its body is read
  bool body_timed_out_ = false;
  // The route's default wait for the response head (RequestTimeouts::
  // response_wait), armed once the request is sent; and whether that head is
  // still awaited (the request pump arms it when it ends first).
  std::optional<Clock::duration> response_wait_;
  bool awaiting_response_head_ = false;
  bool new_connection_next_ = false;  // the next try skips the pool
  bool response_started_ = false;
  RequestFacts facts_;
  std::unique_ptr<UpstreamConnection> upstream_;
  Deadline upstream_deadline_;
  std::string request_head_bytes_;  // the forwarded head, kept for retries
  std::string replay_body_;         // the whole request body, when kept
  BodyDecoder request_decoder_;
  bool request_body_done_ = true;  // the client's body was read to its end
  HeadParser response_parser_;
  // Reused by every request of the connection, so their memory is too.
  ResponseHead response_;
  std::size_t head_size_ = 0;  // of response_, in the connection's buffer
  std::string interim_bytes_;
  const std::size_t max_interim_responses_;
  std::size_t interim_responses_ = 0;  // of the current request, all tries
  bool interim_limit_hit_ = false;
  BodyDecoder response_decoder_;
  PumpScratch request_scratch_;
  PumpScratch response_scratch_;
  bool request_pump_stop_ = false;
  bool request_pump_abandoned_ = false;  // it failed on the client's side
  PumpResult request_pump_result_ = PumpResult::kDone;
  ChildTask request_pump_;
};

}  // namespace weft::proxy::http1
