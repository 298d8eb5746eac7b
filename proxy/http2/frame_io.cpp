#include "proxy/http2/frame_io.h"

#include <exception>

#include "proxy/http2/write_batch.h"

namespace weft::proxy::http2 {

FrameIo::FrameIo(Stream& stream, Side side, const Limits& limits)
    : stream_(stream),
      session_(side, limits, *this),
      write_timeout_(limits.write_timeout),
      write_batch_(limits.write_batch),
      writable_(stream.get_executor()),
      read_deadline_(stream.get_executor()),
      writer_(stream.get_executor()),
      ticker_(stream.get_executor()),
      tick_timer_(stream.get_executor()) {}

bool FrameIo::feed(std::string_view bytes) {
  if (bytes.empty()) return true;
  in_session_ = true;
  const ssize_t rv = nghttp2_session_mem_recv(
      session_.get(), reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  in_session_ = false;
  if (rv < 0) {
    protocol_error(static_cast<int>(rv));
    // A GOAWAY saying why, when nghttp2 has not queued one itself.
    nghttp2_session_terminate_session(session_.get(), rv == NGHTTP2_ERR_FLOODED
                                                          ? NGHTTP2_ENHANCE_YOUR_CALM
                                                          : NGHTTP2_PROTOCOL_ERROR);
    return false;
  }
  return true;
}

awaitable<void> FrameIo::run_io(ReadBuffer& pending, Clock::duration flush_limit) {
  if (!session_.ok()) co_return;
  {
    // Only flush_now() writes synchronously; Asio's asynchronous operations,
    // and the TLS stream's, do not depend on this mode.
    error_code ec;
    stream_.non_blocking(true, ec);
    direct_writes_ = !ec;
  }
  writer_.spawn(write_loop());
  ticker_.spawn(tick_loop());
  std::exception_ptr error;
  try {
    bool reading = feed(pending.data());
    pending.consume(pending.data().size());
    while (reading) {
      // What the read made (acks, window updates) goes now when the read
      // concerned one exchange; with more streams it waits for the writer's
      // turn, to share a write with the answers of the streams it woke (a
      // direct send here cost a second send per request at 100 streams).
      if (lone_exchange()) {
        flush_now();
      } else {
        want_write();
      }
      if (session_.done() || io_failed_) break;
      error_code ec;
      const std::size_t n = co_await stream_.async_read_some(pending.prepare(), redirect(ec));
      if (ec) break;
      pending.commit(n);
      bytes_read_ += n;
      reading = feed(pending.data());
      pending.consume(pending.data().size());
    }
  } catch (...) {
    error = std::current_exception();
    io_failed_ = true;
  }
  // Always: the owner ends its streams and joins what uses it, on an
  // exception (memory) too.
  try {
    co_await reader_ended();
  } catch (...) {
    if (!error) error = std::current_exception();
    io_failed_ = true;
  }
  // The writer sends what is queued (a GOAWAY, the last responses) within
  // the flush limit, or at once ends on a broken socket.
  stopping_ = true;
  if (io_failed_) {
    error_code ignored;
    stream_.lowest_layer().close(ignored);
  } else {
    read_deadline_.arm(stream_, flush_limit);
  }
  want_write();
  try {
    co_await writer_.join();
  } catch (...) {
    if (!error) error = std::current_exception();
    io_failed_ = true;
  }
  tick_timer_.cancel();
  co_await ticker_.join();  // (never throws: tick_loop catches)
  if (!io_failed_ && !error) co_await drain_before_close(pending);
  read_deadline_.disarm();
  if (error) std::rethrow_exception(error);
}

awaitable<void> FrameIo::drain_before_close(ReadBuffer& buffer) {
  // FIN first, then the peer's last bytes read and dropped until it closes:
  // closing with bytes unread (a PING sent after its GOAWAY, say) would reset
  // the connection, and a reset may discard what the peer had not read yet.
  error_code ec;
  stream_.shutdown_send(ec);
  if (ec) co_return;
  read_deadline_.arm(stream_, kDrainLimit);
  std::size_t drained = 0;
  while (drained < kMaxDrained) {
    const std::size_t n = co_await stream_.async_read_some(buffer.prepare(), redirect(ec));
    if (ec) break;
    drained += n;  // never committed: dropped
  }
}

void FrameIo::housekeeping(Clock::time_point now) {
  // Progress is any byte the socket took: a peer that reads slowly is not
  // stalled, one whose receive buffer stays full is.
  if (write_watch_.stalled(bytes_written_, writing_, now, write_timeout_)) {
    // Nothing can reach a peer that reads nothing (a GOAWAY neither): cut.
    write_stalled();
    io_failed_ = true;
    error_code ignored;
    stream_.lowest_layer().close(ignored);  // the writer and the reader wake
    return;
  }
  tick(now);
  const auto idle = idle_limit();
  if (!idle) {
    idle_since_.reset();
  } else if (!idle_since_) {
    idle_since_ = now;
  } else if (now - *idle_since_ >= *idle) {
    idle_since_.reset();
    idle_expired();
  }
}

awaitable<void> FrameIo::tick_loop() {
  // Its own timer: housekeeping runs while the writer waits on a peer that
  // does not read, which is when the write timeout must be looked at.
  try {
    while (!stopping_ && !io_failed_) {
      tick_timer_.expires_after(std::chrono::seconds(1));
      error_code ec;
      co_await tick_timer_.async_wait(redirect(ec));
      if (stopping_ || io_failed_) break;
      housekeeping(Clock::now());
    }
  } catch (...) {
    // (memory: the connection ends)
    io_failed_ = true;
    error_code ignored;
    stream_.lowest_layer().close(ignored);
  }
}

bool FrameIo::gather() {
  in_session_ = true;
  ready_since_write_ = 0;
  bool failed = false;
  while (out_.size() < kWriteBatch) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
    failed = n < 0;  // memory, or a callback that failed: the connection ends
    if (n <= 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  in_session_ = false;
  return !failed;
}

void FrameIo::fail_io(bool close) {
  io_failed_ = true;
  error_code ignored;
  // Either wakes the reader; the writer wakes on want_write() and ends.
  if (close) {
    stream_.lowest_layer().close(ignored);
  } else {
    stream_.lowest_layer().cancel(ignored);
  }
  want_write();
}

void FrameIo::exchange_ready() {
  if (write_now(lone_exchange(), ++ready_since_write_, write_batch_)) {
    flush_now();
  } else {
    want_write();
  }
}

void FrameIo::flush_now() {
  if (!direct_writes_ || in_session_ || writing_ || stopping_ || io_failed_ || !out_.empty()) {
    want_write();
    return;
  }
  if (!gather()) {
    fail_io(true);
    return;
  }
  if (out_.empty()) return;
  error_code ec;
  std::size_t n = stream_.write_some(asio::buffer(out_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    n = 0;
    ec = {};
  }
  if (ec) {
    fail_io(false);
    return;
  }
  bytes_written_ += n;
  out_.erase(0, n);
  // The rest of a batch the socket did not take, or frames past kWriteBatch;
  // or the session is done (a GOAWAY sent, the last stream closed): the
  // writer then ends the reader's wait.
  if (!out_.empty() || nghttp2_session_want_write(session_.get()) != 0 || session_.done()) {
    want_write();
  }
}

awaitable<void> FrameIo::write_loop() {
  while (true) {
    // What flush_now() left goes first, and alone: frames stay in order.
    if (out_.empty() && !gather()) {
      fail_io(true);
      co_return;
    }
    if (!out_.empty()) {
      error_code ec;
      writing_ = true;
      for (std::size_t sent = 0; sent < out_.size() && !ec;) {
        const std::size_t n = co_await stream_.async_write_some(
            asio::buffer(out_.data() + sent, out_.size() - sent), redirect(ec));
        sent += n;
        bytes_written_ += n;  // progress, for the write timeout
      }
      writing_ = false;
      out_.clear();
      if (ec) {
        fail_io(false);
        co_return;
      }
      continue;
    }
    if (stopping_ || io_failed_) co_return;
    if (session_.done()) {
      // Both sides have said all (GOAWAY and the last stream): the reader
      // waits for nothing more.
      error_code ignored;
      stream_.lowest_layer().cancel(ignored);
      co_return;
    }
    co_await writable_.wait();
  }
}

}  // namespace weft::proxy::http2
