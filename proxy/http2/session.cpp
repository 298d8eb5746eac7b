#include "proxy/http2/session.h"

namespace weft::proxy::http2 {
namespace {

SessionEvents& events_of(void* user_data) {
  return *static_cast<SessionEvents*>(user_data);
}

std::string_view view(const std::uint8_t* data, std::size_t length) {
  return {reinterpret_cast<const char*>(data), length};
}

// Every callback runs inside nghttp2's C frames: an exception (memory)
// must not unwind through them. It ends the connection instead.
template <typename Call>
int guarded(Call&& call) noexcept {
  try {
    return call();
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* header, void* user_data) {
  return guarded([&] { return events_of(user_data).on_begin_frame(*header); });
}

int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return guarded([&] { return events_of(user_data).on_begin_headers(*frame); });
}

int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
              std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
              std::uint8_t /*flags*/, void* user_data) {
  return guarded([&] {
    return events_of(user_data).on_header(*frame, view(name, name_length),
                                          view(value, value_length));
  });
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return guarded([&] { return events_of(user_data).on_frame_recv(*frame); });
}

int on_data_chunk(nghttp2_session*, std::uint8_t /*flags*/, std::int32_t stream_id,
                  const std::uint8_t* data, std::size_t length, void* user_data) {
  return guarded([&] { return events_of(user_data).on_data_chunk(stream_id, view(data, length)); });
}

int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                    void* user_data) {
  return guarded([&] { return events_of(user_data).on_stream_close(stream_id, error_code); });
}

int on_invalid_frame(nghttp2_session*, const nghttp2_frame*, int, void* user_data) {
  return guarded([&] {
    events_of(user_data).on_invalid_frame();
    return 0;
  });
}

int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return guarded([&] {
    if (frame->hd.type == NGHTTP2_GOAWAY)
      events_of(user_data).on_goaway_sent(frame->goaway.error_code);
    events_of(user_data).on_frame_sent(*frame);
    return 0;
  });
}

}  // namespace

Session::Session(Side side, const Limits& limits, SessionEvents& events)
    : memory_(limits.session_cache_bytes) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return;
  nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, on_invalid_frame);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
  const OptionPtr options = session_options(limits);
  if (options) {
    const int rv = side == Side::kServer
                       ? nghttp2_session_server_new3(&session_, callbacks, &events, options.get(),
                                                     memory_.mem())
                       : nghttp2_session_client_new3(&session_, callbacks, &events, options.get(),
                                                     memory_.mem());
    if (rv != 0) session_ = nullptr;
  }
  nghttp2_session_callbacks_del(callbacks);
  if (session_ == nullptr) return;
  const auto settings = local_settings(limits, side);
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size()) != 0 ||
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<std::int32_t>(limits.connection_window)) !=
          0) {
    memory_.stop_caching();
    nghttp2_session_del(session_);
    session_ = nullptr;
  }
}

Session::~Session() {
  memory_.stop_caching();
  if (session_ != nullptr) nghttp2_session_del(session_);
}

}  // namespace weft::proxy::http2
