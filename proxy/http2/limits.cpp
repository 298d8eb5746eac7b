#include "proxy/http2/limits.h"

#include <algorithm>

#include "proxy/settings.h"

namespace weft::proxy::http2 {
namespace {

std::uint32_t to_u32(std::size_t value) {
  return static_cast<std::uint32_t>(std::min<std::size_t>(value, 0x7fffffff));
}

}  // namespace

Limits limits_from(const Settings& settings, bool mesh_peer) {
  return {.max_concurrent_streams = to_u32(settings.http2_max_concurrent_streams),
          .max_header_list_size = to_u32(settings.http2_max_header_list_size),
          .max_frame_size = to_u32(settings.http2_max_frame_size),
          .stream_window = to_u32(settings.http2_stream_window),
          .connection_window = to_u32(settings.http2_connection_window),
          .reset_burst = settings.http2_reset_burst,
          .reset_rate = settings.http2_reset_rate,
          .max_continuations = settings.http2_max_continuations,
          .max_outbound_acks = settings.http2_max_outbound_acks,
          .max_settings = settings.http2_max_settings,
          .max_deflate_table_size = settings.http2_max_deflate_table_size,
          .session_cache_bytes = settings.http2_session_cache_bytes,
          .write_timeout = settings.http2_write_timeout,
          .write_batch = mesh_peer ? settings.http2_mesh_write_batch : 0};
}

std::vector<nghttp2_settings_entry> local_settings(const Limits& limits, Side side) {
  std::vector<nghttp2_settings_entry> entries{
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.stream_window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, limits.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits.max_header_list_size},
  };
  if (side == Side::kServer) {
    entries.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams});
  } else {
    entries.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  }
  return entries;
}

OptionPtr session_options(const Limits& limits) {
  nghttp2_option* raw = nullptr;
  if (nghttp2_option_new(&raw) != 0) return nullptr;
  OptionPtr option(raw);
  // Flow control end to end: a stream's window opens again only as its
  // bytes are handed to the other side (nghttp2_session_consume), so a slow
  // reader holds back its own stream, and the proxy's memory stays bounded.
  nghttp2_option_set_no_auto_window_update(raw, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(raw, limits.max_deflate_table_size);
  nghttp2_option_set_max_outbound_ack(raw, limits.max_outbound_acks);
  nghttp2_option_set_max_settings(raw, limits.max_settings);
  nghttp2_option_set_stream_reset_rate_limit(raw, limits.reset_burst, limits.reset_rate);
  nghttp2_option_set_max_continuations(raw, limits.max_continuations);
  // Closed streams stay known (nghttp2 keeps them while closed and open
  // together are within the concurrent-stream limit): a frame on a stream
  // the peer already closed is then STREAM_CLOSED (RFC 9113 section 5.1),
  // not silently dropped.
  return option;
}

}  // namespace weft::proxy::http2
