#include "proxy/http2/frame_io.h"

#include <exception>

namespace weft::proxy::http2 {

FrameIo::FrameIo(Stream& stream, Side side, const Limits& limits)
    : stream_(stream),
      session_(side, limits, *this),
      writable_(stream.get_executor()),
      read_deadline_(stream.get_executor()),
      writer_(stream.get_executor()) {}

bool FrameIo::feed(std::string_view bytes) {
  if (bytes.empty()) return true;
  const ssize_t rv = nghttp2_session_mem_recv(
      session_.get(), reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
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
  writer_.spawn(write_loop());
  std::exception_ptr error;
  try {
    bool reading = feed(pending.data());
    pending.consume(pending.data().size());
    while (reading) {
      want_write();
      if (session_.done() || io_failed_) break;
      error_code ec;
      const std::size_t n = co_await stream_.async_read_some(pending.prepare(), redirect(ec));
      if (ec) break;
      pending.commit(n);
      bytes_read_ += n;
      reading = feed(pending.data());
      pending.consume(pending.data().size());
    }
    co_await reader_ended();
  } catch (...) {
    error = std::current_exception();
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
  co_await writer_.join();
  read_deadline_.disarm();
  if (error) std::rethrow_exception(error);
}

void FrameIo::housekeeping(Clock::time_point now) {
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

awaitable<void> FrameIo::write_loop() {
  auto next_tick = Clock::now() + std::chrono::seconds(1);
  while (true) {
    out_.clear();
    while (out_.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n <= 0) break;  // (an error here is memory: the connection ends below)
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out_.empty()) {
      error_code ec;
      co_await asio::async_write(stream_, asio::buffer(out_), redirect(ec));
      if (ec) {
        io_failed_ = true;
        error_code ignored;
        stream_.lowest_layer().cancel(ignored);  // wakes the reader
        co_return;
      }
      bytes_written_ += out_.size();
      // A connection that always has something to send still ticks (drain).
      const auto now = Clock::now();
      if (now >= next_tick) {
        next_tick = now + std::chrono::seconds(1);
        housekeeping(now);
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
    co_await writable_.wait(next_tick);
    const auto now = Clock::now();
    if (now >= next_tick) {
      next_tick = now + std::chrono::seconds(1);
      housekeeping(now);
    }
  }
}

}  // namespace weft::proxy::http2
