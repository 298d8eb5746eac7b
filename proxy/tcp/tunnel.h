#pragma once

// Copies bytes both ways between two connected sockets until both directions
// ended: opaque TCP, and WebSocket (or any upgrade) after a 101. A half-close
// is passed on (EOF from one side shuts down sending to the other); an error
// on either side closes both. A tunnel in which no read or write completes
// in either direction for its idle limit is closed (both sockets): a peer
// that goes silent, or stops reading, cannot hold it open forever. One in
// which bytes have not moved both ways may get a shorter limit
// (`silent_until`): a client that stays silent to an app that does not speak
// first, or sends a byte to one that never answers. One whose direction has
// ended is closed once the other moved nothing for `half_closed_limit`: a
// half-close does not buy the idle limit.
//
// A direction holds its read buffer only while bytes flow: it waits for
// readability without one, so an idle tunnel costs its sockets and coroutine
// frames, not its buffers (the caller's pending bytes aside: pass them at
// their size).

#include <chrono>
#include <cstdint>
#include <string_view>

#include "proxy/core/asio.h"
#include "proxy/tls/stream.h"
#include "weft/metrics.h"

namespace weft::proxy {

struct TunnelBytes {
  std::uint64_t a_to_b = 0;
  std::uint64_t b_to_a = 0;
};

// Asked, at most once per interval, whether an open tunnel may stay open:
// inbound opaque connections are decided again when the configuration
// changes. False closes it (the implementation counts it). Owned by the
// caller, which outlives the tunnel.
class TunnelRecheck {
 public:
  virtual bool still_allowed() = 0;

 protected:
  ~TunnelRecheck() = default;
};

struct TunnelIdle {
  std::chrono::steady_clock::duration limit = std::chrono::hours(1);
  Counter* closed = nullptr;  // counts the tunnels closed for idleness
  // Until a first byte moves (pending bytes count), the tunnel is closed at
  // this point in time instead, if earlier; counted in `silent_closed`.
  std::chrono::steady_clock::time_point silent_until = std::chrono::steady_clock::time_point::max();
  Counter* silent_closed = nullptr;
  // Once one direction has ended (its sender's EOF passed on), the tunnel is
  // closed when nothing moved for this long, counted in `half_closed`.
  std::chrono::steady_clock::duration half_closed_limit = std::chrono::seconds(30);
  Counter* half_closed = nullptr;
  // Not null: asked every recheck_interval (the same timer as the limits).
  TunnelRecheck* recheck = nullptr;
  std::chrono::steady_clock::duration recheck_interval = std::chrono::seconds(1);
};

// a_pending / b_pending: bytes already read from a (resp. b) that must reach
// the other side first. Both sockets and the pending bytes must outlive the call.
// On a Stream over TLS, a half-close sends close_notify before the FIN.
awaitable<TunnelBytes> tunnel(Socket& a, std::string_view a_pending, Socket& b,
                              std::string_view b_pending, TunnelIdle idle = {});
awaitable<TunnelBytes> tunnel(Stream& a, std::string_view a_pending, Stream& b,
                              std::string_view b_pending, TunnelIdle idle = {});

}  // namespace weft::proxy
