#pragma once

// One direction of a body between the two HTTP/2 connections of a request,
// on one worker: the receiving side's stream appends the DATA it gets, the
// sending side's stream takes it as its peer's window allows. Flow control
// runs end to end through it: the receiving side's window opens again only
// when bytes are taken (on_taken: nghttp2_session_consume there), so the
// pipe holds at most one receive window of a stream, and a slow reader slows
// its own stream, never the connection or the proxy's memory.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/http2/header_list.h"

namespace weft::proxy::http2 {

class BodyPipe {
 public:
  // The producer's side.
  void append(std::string_view bytes);
  // END_STREAM came (with trailers, if any).
  void end(HeaderList trailers = {});
  // The producer's stream failed: the consumer resets its own.
  void abort();
  // The consumer reads no more (its stream ended first): the producer stops
  // its stream (on_cancelled), and bytes still arriving are dropped but
  // reported taken, so the producer's connection window does not shrink.
  void cancel();
  bool cancelled() const { return cancelled_; }

  // The consumer's side: up to `max` bytes into `out`.
  std::size_t take(char* out, std::size_t max);
  // Up to `max` bytes appended to `out` (no buffer between), or dropped.
  std::size_t take_into(std::string& out, std::size_t max);
  std::size_t drop(std::size_t max);
  // All that is buffered (a body kept whole for retries).
  std::string take_all();
  std::size_t buffered() const { return data_.size() - offset_; }
  bool ended() const { return ended_; }
  bool aborted() const { return aborted_; }
  // Every byte was taken and the producer ended.
  bool finished() const { return ended_ && buffered() == 0; }
  const HeaderList& trailers() const { return trailers_; }

  // Set by the consumer: bytes, the end or an abort arrived.
  std::function<void()> on_readable;
  // Set by the producer: the consumer took `n` bytes (its window reopens).
  std::function<void(std::size_t)> on_taken;
  // Set by the producer: the consumer cancelled.
  std::function<void()> on_cancelled;

 private:
  // The first n buffered bytes are gone; the producer is told.
  void consumed(std::size_t n);
  void wake() {
    if (on_readable) on_readable();
  }

  std::string data_;
  std::size_t offset_ = 0;  // taken bytes at data_'s front
  bool ended_ = false;
  bool aborted_ = false;
  bool cancelled_ = false;
  HeaderList trailers_;
};

// An nghttp2 data provider reading `pipe` (which must outlive the stream):
// DEFERRED while it is empty (the consumer resumes the stream on
// on_readable), EOF at its end, with its trailers in a HEADERS frame of their
// own, and a reset of the stream when the producer aborted.
nghttp2_data_provider pipe_provider(BodyPipe& pipe);

// The same for a body held whole in memory (a replayed request body, a
// local answer's text); `held` must outlive the stream.
struct HeldBody {
  std::shared_ptr<const std::string> body;
  std::size_t offset = 0;
};
nghttp2_data_provider held_provider(HeldBody& held);

// A body streamed from `pipe` whose bytes are also copied as they go out, up
// to `limit` (past it the copy is dropped: `overflowed`), so that a request
// of unknown length can be sent again once it ended (a gRPC call on a route
// that retries). `teed` must outlive the stream.
struct TeedBody {
  BodyPipe* pipe = nullptr;
  std::size_t limit = 0;
  std::string copy{};
  bool overflowed = false;
};
nghttp2_data_provider teed_provider(TeedBody& teed);

}  // namespace weft::proxy::http2
