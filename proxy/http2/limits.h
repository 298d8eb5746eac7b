#pragma once

// The HTTP/2 limits both sides of the codec share: what the proxy announces
// in its SETTINGS, and the nghttp2 options that bound what a peer may make
// it do (rapid reset, CONTINUATION and acknowledgement floods, HPACK
// tables). Each has a flag (proxy/settings.cpp) and a line in docs/proxy.md,
// "HTTP/2". Pure: tested on values.

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace weft::proxy {
struct Settings;
}

namespace weft::proxy::http2 {

enum class Side { kServer, kClient };

struct Limits {
  std::uint32_t max_concurrent_streams = 250;
  std::uint32_t max_header_list_size = 32 * 1024;
  std::uint32_t max_frame_size = 16 * 1024;
  std::uint32_t stream_window = 64 * 1024;
  std::uint32_t connection_window = 1024 * 1024;
  std::uint64_t reset_burst = 1'000;
  std::uint64_t reset_rate = 33;
  std::size_t max_continuations = 8;
  std::size_t max_outbound_acks = 1'000;
  std::size_t max_settings = 32;
  std::size_t max_deflate_table_size = 4 * 1024;
  // The freed nghttp2 blocks a session keeps for reuse (SessionMemory).
  std::size_t session_cache_bytes = 64 * 1024;
  // A peer that reads nothing this long while bytes wait for it is cut.
  std::chrono::milliseconds write_timeout{30'000};
  // Exchanges ready in one turn that make a write (write_batch.h); 0: one
  // write per turn. Only between meshed proxies.
  std::size_t write_batch = 0;
};

// `mesh_peer`: the connection is mTLS to or from another Weft proxy.
Limits limits_from(const Settings& settings, bool mesh_peer = false);

// The SETTINGS the proxy sends first on a connection of `side`. A client
// turns server push off; a server bounds the streams its client may open.
std::vector<nghttp2_settings_entry> local_settings(const Limits& limits, Side side);

struct OptionDeleter {
  void operator()(nghttp2_option* option) const { nghttp2_option_del(option); }
};
using OptionPtr = std::unique_ptr<nghttp2_option, OptionDeleter>;

// The session options: windows updated only once a body's bytes were handed
// on (flow control end to end), the flood limits above. Null when nghttp2
// could not allocate them.
OptionPtr session_options(const Limits& limits);

}  // namespace weft::proxy::http2
