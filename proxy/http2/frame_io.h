#pragma once

// The I/O of one HTTP/2 connection, shared by the server and the client
// side: a reader feeding the socket's bytes to nghttp2 (mem_recv), and a
// writer beside it sending what nghttp2 has to send (mem_send), woken by
// want_write(), on the connection's worker (no locks). A ticker beside
// them runs the owner's housekeeping once a second (drain, idle and stalled
// streams), whether or not the writer is blocked, and cuts a peer that read
// nothing for the write timeout while the proxy had bytes for it. Memory:
// one read buffer, and at most kWriteBatch bytes gathered per write.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proxy/core/asio.h"
#include "proxy/core/child_task.h"
#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http2/progress_watch.h"
#include "proxy/http2/session.h"
#include "proxy/http2/signal.h"
#include "proxy/tls/stream.h"

namespace weft::proxy::http2 {

class FrameIo : public SessionEvents {
 public:
  using Clock = std::chrono::steady_clock;

  FrameIo(Stream& stream, Side side, const Limits& limits);
  FrameIo(const FrameIo&) = delete;
  FrameIo& operator=(const FrameIo&) = delete;

  // nghttp2 may have frames to send (after a submit, a resume, a consume).
  // The writer wakes only when it has something to do: frames nghttp2 would
  // send now, bytes left over, or an end to act on. A consume that queued
  // no WINDOW_UPDATE, or a read that made no ack, would otherwise cost a
  // turn of the event loop and an empty gather (about one per request on
  // each side of a busy connection between two proxies).
  void want_write() {
    if (!out_.empty() || stopping_ || io_failed_ || !session_.ok() ||
        nghttp2_session_want_write(session_.get()) != 0 || session_.done()) {
      writable_.notify();
    }
  }
  // The same, sent at once from the caller's own turn where that is safe: no
  // write under way, not inside an nghttp2 call. A send the
  // socket takes whole spares the writer's wake-up and the completion of its
  // write, two turns of the event loop (each an epoll_wait); what the socket
  // does not take is left to the writer. For a lone exchange: where many
  // streams answer in one turn, want_write() gathers them into one write.
  void flush_now();
  // An exchange made frames ready (a request submitted, a response head):
  // flush_now() when write_now() says so (write_batch.h), else the writer's
  // turn.
  void exchange_ready();
  nghttp2_session* session() const { return session_.get(); }
  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t bytes_written() const { return bytes_written_; }

 protected:
  // Runs the connection until it ends: `pending` holds bytes already read
  // (the preface, for a server). Then reader_ended() (the owner ends its
  // streams), and the writer flushes what is left within `flush_limit`.
  awaitable<void> run_io(ReadBuffer& pending, Clock::duration flush_limit);
  // While this returns a duration (the owner has no stream), the connection
  // is idle; idle that long, idle_expired() is called (checked each tick:
  // the owner then says GOAWAY, and the connection ends once it is sent).
  virtual std::optional<Clock::duration> idle_limit() const { return std::nullopt; }
  virtual void idle_expired() {}
  // At most one stream is open: what there is to send concerns one exchange,
  // and is sent at once (flush_now) rather than gathered with others.
  virtual bool lone_exchange() const { return false; }
  // Once a second, on the writer.
  virtual void tick(Clock::time_point /*now*/) {}
  // The reader is done (end of stream, error, or the session has nothing
  // more to read): the owner fails or finishes its streams.
  virtual awaitable<void> reader_ended() { co_return; }
  // nghttp2 refused the peer's bytes (a protocol error, a flood).
  virtual void protocol_error(int /*nghttp2_error*/) {}
  // The peer read nothing for the write timeout while bytes waited for it:
  // the connection is cut (the owner counts it).
  virtual void write_stalled() {}

  Stream& stream_;
  Session session_;
  bool io_failed_ = false;  // the socket broke: nothing more will be sent

 private:
  static constexpr std::size_t kWriteBatch = 64 * 1024;
  // The wait for the peer's close once all was sent, and the bytes dropped
  // meanwhile: a peer that neither closes nor stops sending is cut there.
  static constexpr Clock::duration kDrainLimit = std::chrono::seconds(1);
  static constexpr std::size_t kMaxDrained = 64 * 1024;
  awaitable<void> drain_before_close(ReadBuffer& buffer);
  bool feed(std::string_view bytes);
  // nghttp2's frames into out_, up to kWriteBatch; false when nghttp2 failed
  // (memory, a callback's error): the connection ends.
  bool gather();
  // The socket broke or nghttp2 failed: nothing more is sent, the reader wakes.
  void fail_io(bool close);
  awaitable<void> write_loop();
  awaitable<void> tick_loop();
  // Once a second: the write timeout, the owner's tick, then the idle check.
  void housekeeping(Clock::time_point now);

  const Clock::duration write_timeout_;
  const std::size_t write_batch_;
  std::size_t ready_since_write_ = 0;  // exchange_ready() calls since the last gather()
  Signal writable_;
  Deadline read_deadline_;  // after the reader ended: the flush limit
  std::optional<Clock::time_point> idle_since_;
  ChildTask writer_;
  ChildTask ticker_;
  Timer tick_timer_;
  bool writing_ = false;        // a write is under way (bytes wait for the peer)
  ProgressWatch write_watch_;   // bytes_written_ while writing_
  bool stopping_ = false;       // the reader ended: the writer flushes and ends
  bool in_session_ = false;     // inside mem_recv or mem_send: no other call into nghttp2
  bool direct_writes_ = false;  // the socket in non-blocking mode: flush_now() may send
  std::string out_;             // gathered frames not yet sent (the writer's, or left to it)
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_written_ = 0;
};

}  // namespace weft::proxy::http2
