#pragma once

// The HTTP/2 codec's client side towards endpoints: connections that each
// carry many request streams, and the per-worker pool of them, keyed by
// (endpoint, identity it must prove). One connection per peer: a request
// takes a stream on an open connection, and a new connection is opened
// only when there is none, when the peer's SETTINGS_MAX_CONCURRENT_STREAMS
// is reached on all of them, or after a GOAWAY or an error (those leave the
// pool at once, their streams finish or fail). While one is being
// connected, other requests for the same key wait for it instead of
// connecting too. A connection without streams for the pool idle timeout
// closes itself. At most --http2-max-connections-per-endpoint per key: past
// it a request waits for a stream to end (PoolRoom), within its connect limit.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/core/asio.h"
#include "proxy/direction.h"
#include "proxy/http2/body_pipe.h"
#include "proxy/http2/frame_io.h"
#include "proxy/http2/header_list.h"
#include "proxy/http2/signal.h"
#include "proxy/http2/stream_map.h"
#include "proxy/layers/connection.h"
#include "proxy/layers/timeouts.h"
#include "proxy/metrics.h"
#include "proxy/request/outcome.h"
#include "proxy/settings.h"
#include "weft/metrics.h"

namespace weft::proxy::http2 {

// One request stream on an upstream connection, as the try sees it.
struct ClientStream {
  std::int32_t id = -1;
  HeaderList head;           // the final response head (after any 1xx)
  bool head_done = false;    // it came
  bool end_at_head = false;  // with END_STREAM: no body (a trailers-only gRPC answer)
  bool in_trailers = false;  // the header block being received is the trailers
  HeaderList trailers;
  bool head_too_large = false;
  bool response_started = false;  // some frame of the response arrived
  bool closed = false;
  std::uint32_t close_error = 0;  // RST_STREAM's code, or the connection's failure
  bool refused = false;  // the peer did not process it (REFUSED_STREAM, or past its GOAWAY)
  std::shared_ptr<BodyPipe> response = make_recycled<BodyPipe>();
  std::shared_ptr<BodyPipe> request;  // streamed body (null: none, or held)
  HeldBody held;                      // a body sent whole from memory
  TeedBody teed;                      // a streamed body copied for a retry
  Signal* waiter = nullptr;           // the try waiting for the head, woken on change
  // Since when its HEADERS wait unsent (the peer's stream limit), or its
  // body's bytes wait behind the peer's shut window: stalled that long
  // (--body-idle-timeout), the stream fails.
  std::optional<Clock::time_point> stalled_since;
  void wake() {
    if (waiter != nullptr) waiter->notify();
  }

  ClientStream() = default;
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;
  // Its pipes' callbacks into its connection (ClientConnection::submit)
  // point to this stream: they go with it, whichever way it left its
  // connection, and so never outlive it.
  ~ClientStream() { drop_callbacks(); }
  // The response pipe's, and the request pipe's if still this stream's (a
  // later try's stream may have set its own on the same pipe).
  void drop_callbacks();
};

struct ClientLimits {
  Limits limits;
  // limits.write_batch on a connection to a meshed proxy (mTLS).
  std::size_t mesh_write_batch = 0;
  Clock::duration idle_timeout = std::chrono::seconds(90);  // without streams
  Clock::duration stall_timeout = std::chrono::seconds(60);
  std::size_t max_connections_per_endpoint = 16;
  Counter* protocol_errors = nullptr;
  Counter* stalled_streams = nullptr;
  Counter* write_stalls = nullptr;        // the peer read nothing for the write timeout
  Counter* connection_limit = nullptr;    // a request waited for room at the cap
  Counter* session_cache_full = nullptr;  // nghttp2 freed a block past the session's cache
};

// The requests of one pool key waiting for room (a stream ending, a
// connection leaving) while its connections are at the cap. Shared with the
// connections, which may outlive the pool at shutdown.
struct PoolRoom {
  std::vector<Timer*> waiters;
  void notify() {
    for (Timer* waiter : waiters) waiter->cancel();
  }
};

// Owns the socket before FrameIo (a base, built after this one) uses it.
struct OwnedUpstream {
  std::unique_ptr<UpstreamConnection> upstream_;
};

class ClientConnection final : private OwnedUpstream,
                               public FrameIo,
                               public std::enable_shared_from_this<ClientConnection> {
 public:
  ClientConnection(std::unique_ptr<UpstreamConnection> upstream, const ClientLimits& limits);
  ~ClientConnection() override;

  // Runs the connection on its executor until it ends (holding itself).
  void start();
  // The peer's first SETTINGS came: its limits are known. A new connection
  // takes no stream before (a burst would overrun a peer's
  // SETTINGS_MAX_CONCURRENT_STREAMS not yet known).
  bool ready() const { return settings_received_; }
  // Waits until ready(), closing() or `until`.
  awaitable<void> wait_ready(Clock::time_point until);
  // A new stream can go on it now.
  bool usable() const;
  // It takes no new stream, ever (GOAWAY, failed, ended).
  bool closing() const { return ended_ || goaway_ || io_failed_; }
  bool has_carried_streams() const { return streams_opened_ > 0; }
  // Submits the request; the stream's id, or a negative nghttp2 error.
  std::int32_t submit(const std::shared_ptr<ClientStream>& stream, const HeaderList& head,
                      const nghttp2_data_provider* body);
  // Resets a stream still open (CANCEL).
  void cancel(ClientStream& stream);

  // The request body pipe's on_readable: a named type (two pointers, held
  // inline by std::function), so that a stream drops only its own.
  struct ResumeRequestBody {
    ClientConnection* connection;
    ClientStream* stream;
    void operator()() const;
  };
  // Ends the connection gracefully (GOAWAY); used when the pool drops it.
  void retire();
  // Told when a stream ends or the connection closes (room at the cap).
  void set_room(const std::shared_ptr<PoolRoom>& room) { room_ = room; }

 private:
  int on_begin_headers(const nghttp2_frame& frame) override;
  int on_header(const nghttp2_frame& frame, std::string_view name, std::string_view value) override;
  int on_frame_recv(const nghttp2_frame& frame) override;
  int on_data_chunk(std::int32_t stream_id, std::string_view data) override;
  int on_stream_close(std::int32_t stream_id, std::uint32_t error_code) override;
  void on_invalid_frame() override;
  std::optional<Clock::duration> idle_limit() const override;
  bool lone_exchange() const override { return streams_.size() <= 1; }
  void idle_expired() override { retire(); }
  void tick(Clock::time_point now) override;
  awaitable<void> reader_ended() override;
  void protocol_error(int error) override;
  void write_stalled() override;
  // Forgets a stream whose HEADERS nghttp2 never sent (the peer's stream
  // limit): nghttp2 will never report it closed.
  void forget_unopened(std::int32_t id);
  void notify_room();
  // `self` keeps the connection alive while it runs.
  awaitable<void> run(std::shared_ptr<ClientConnection> self);
  ClientStream* find(std::int32_t id);
  // The stream leaves streams_: its pipes' callbacks into this are cleared.
  static void forget(ClientStream& stream) { stream.drop_callbacks(); }

  const ClientLimits limits_;
  StreamMap<ClientStream> streams_;
  // nghttp2 calls back for one stream many times in a row (each header of a
  // block): the last one found is looked at first. In streams_ (reset when
  // one leaves).
  ClientStream* last_found_ = nullptr;
  // Streams still open in nghttp2 when the reader ended: their request
  // bodies are read while the writer flushes, so they live as long as the session.
  std::vector<std::shared_ptr<ClientStream>> retired_streams_;
  std::uint64_t streams_opened_ = 0;
  bool goaway_ = false;  // received or sent: no new stream
  bool settings_received_ = false;
  Timer ready_;  // cancelled when ready or ended
  bool ended_ = false;
  ReadBuffer read_buffer_;
  std::weak_ptr<PoolRoom> room_;
};

// The key of a pool entry: where, and who must answer (empty: plaintext).
struct PoolKey {
  tcp::endpoint endpoint;
  std::string identity;
};
// The same, to look an entry up without copying the identity.
struct PoolKeyView {
  const tcp::endpoint& endpoint;
  std::string_view identity;
};
// By endpoint, then identity; for either form of the key.
struct PoolKeyOrder {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return a.endpoint != b.endpoint ? a.endpoint < b.endpoint
                                    : std::string_view(a.identity) < std::string_view(b.identity);
  }
};

class ClientPool {
 public:
  ClientPool(const Executor& executor, ClientLimits limits)
      : executor_(executor), limits_(std::move(limits)) {}
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // A connection with room for a stream: an open one (reused set), or a new
  // one connected within `limit` (with mTLS when `tls.identity` is set).
  // Null on failure, with `failure` set. `fresh`: do not take an open one.
  awaitable<std::shared_ptr<ClientConnection>> acquire(const tcp::endpoint& endpoint,
                                                       const UpstreamTls& tls,
                                                       const ConnectLimit& limit,
                                                       TryFailure& failure, bool fresh,
                                                       bool& reused);
  // An open connection with room for a stream, at once (reused set); null
  // when there is none: then acquire() waits for one or connects.
  std::shared_ptr<ClientConnection> open_connection(const tcp::endpoint& endpoint,
                                                    std::string_view identity, bool& reused);
  // Open connections (tests, metrics).
  std::size_t size() const;
  // Drain: every connection sends GOAWAY and ends once its streams have.
  void retire_all();

 private:
  Executor executor_;
  const ClientLimits limits_;
  std::map<PoolKey, std::vector<std::weak_ptr<ClientConnection>>, PoolKeyOrder> open_;
  // Keys being connected: waiters wait on the timer, cancelled when done.
  std::map<PoolKey, std::shared_ptr<Timer>, PoolKeyOrder> connecting_;
  std::map<PoolKey, std::shared_ptr<PoolRoom>, PoolKeyOrder> rooms_;
  // `key`'s connections that take streams, the one connecting included.
  std::size_t live_connections(const PoolKey& key) const;
  // Waits (up to `until`) for room on `key`'s connections, at the cap.
  awaitable<void> wait_for_room(const PoolKey& key, Clock::time_point until);
};

// A worker's pools, one per direction (inbound: to the pod's app; outbound:
// to endpoints, over mTLS when meshed): their metrics say which.
struct ClientPools {
  ClientPools(const Executor& executor, const Settings& settings, ProxyMetrics& metrics);
  ClientPool& of(Direction direction) {
    return direction == Direction::kInbound ? inbound : outbound;
  }
  ClientPool inbound;
  ClientPool outbound;
};

}  // namespace weft::proxy::http2
