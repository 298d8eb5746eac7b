#pragma once

// An nghttp2 session owned (RAII), with nghttp2's callbacks turned into
// member calls of the SessionEvents its owner implements. nghttp2 does all
// the framing, HPACK and protocol checks (HTTP messaging rules included:
// pseudo-headers, connection-specific headers, content-length against DATA,
// field syntax); the codec sees headers, DATA and stream ends.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string_view>

#include "proxy/http2/limits.h"
#include "proxy/http2/session_memory.h"

namespace weft::proxy::http2 {

class SessionEvents {
 public:
  virtual ~SessionEvents() = default;
  // A frame's header arrived, before nghttp2 looks at the frame. Non-zero
  // (NGHTTP2_ERR_CALLBACK_FAILURE) ends the connection.
  virtual int on_begin_frame(const nghttp2_frame_hd& /*header*/) { return 0; }
  // A header block starts (a request's, a response's, trailers).
  virtual int on_begin_headers(const nghttp2_frame& frame) = 0;
  virtual int on_header(const nghttp2_frame& frame, std::string_view name,
                        std::string_view value) = 0;
  virtual int on_frame_recv(const nghttp2_frame& frame) = 0;
  virtual int on_data_chunk(std::int32_t stream_id, std::string_view data) = 0;
  virtual int on_stream_close(std::int32_t stream_id, std::uint32_t error_code) = 0;
  // A frame the peer sent broke the protocol (counted).
  virtual void on_invalid_frame() {}
  // A GOAWAY went out (serialized for the socket), with this error code.
  virtual void on_goaway_sent(std::uint32_t /*error_code*/) {}
  // A frame went out (serialized for the socket).
  virtual void on_frame_sent(const nghttp2_frame& /*frame*/) {}
};

class Session {
 public:
  // Sends the local SETTINGS and opens the connection window at once. ok()
  // is false when nghttp2 could not be set up (memory).
  Session(Side side, const Limits& limits, SessionEvents& events);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool ok() const { return session_ != nullptr; }
  nghttp2_session* get() const { return session_; }
  // nghttp2's allocations, from the session's own free lists.
  SessionMemory& memory() { return memory_; }
  // Neither side has anything more to say: the connection can close.
  bool done() const {
    return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
  }

 private:
  SessionMemory memory_;  // before session_: nghttp2 frees into it until deleted
  nghttp2_session* session_ = nullptr;
};

}  // namespace weft::proxy::http2
