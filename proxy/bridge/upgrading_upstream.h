#pragma once

// The HTTP/1 server side's Upstream (proxy/layers/stack.h) outbound: each
// try goes to a meshed peer proxy as an HTTP/2 stream (Http2Carrier) when
// the endpoint the balancer chose has an identity to prove (the connection
// layer will speak mTLS to it), and over HTTP/1 (http1::Client) otherwise,
// as before. The choice is per try, since the endpoint is. Upgrades
// (WebSocket) keep HTTP/1 and their own connection; so does everything when
// the upgrade is turned off (--http1-upgrade-between-proxies=false).

#include <optional>
#include <string_view>

#include "proxy/bridge/http2_carrier.h"
#include "proxy/config/snapshot.h"
#include "proxy/http1/client.h"

namespace weft::proxy::bridge {

class UpgradingUpstream {
 public:
  // `enabled`: outbound, with the upgrade on.
  UpgradingUpstream(http1::Client& http1, Http2Carrier& http2, bool enabled)
      : http1_(http1), http2_(http2), enabled_(enabled) {}

  // `meshed`: the proxy can speak mTLS at all (it holds credentials); when
  // not, no try can be carried and the request costs nothing more.
  // `snapshot`: the one the request was routed with, which says which
  // endpoints' proxies treat their port as opaque (never carried to).
  void start(const http1::RequestHead& head, const http1::RequestFacts& facts,
             std::string_view destination_text, bool meshed, const Snapshot* snapshot) {
    http1_.start(head, facts, destination_text);
    snapshot_ = snapshot;
    carried_ = false;
    possible_ = enabled_ && meshed && !facts.upgrade && http2_.start(head, facts, destination_text);
  }

  // The last try went to a peer proxy as HTTP/2: its response is relayed by
  // the carrier.
  bool carried_as_http2() const { return carried_; }

  awaitable<TryFailure> send_try(const tcp::endpoint& address, std::string_view identity,
                                 const RequestTimeouts& timeouts, bool replayable,
                                 bool& body_started) {
    // An endpoint whose proxy treats its port as opaque would hand the
    // HTTP/2 bytes to its app as they are: HTTP/1 (over mTLS) there.
    carried_ = possible_ && !identity.empty() &&
               !(snapshot_ != nullptr && snapshot_->opaque_at_server(address));
    if (carried_) {
      if (replayable) http2_.use_kept_body(http1_.kept_body());
      return http2_.send_try(address, identity, timeouts, replayable, body_started);
    }
    // Part of the body went into a stream's pipe for an earlier try: an
    // HTTP/1 try could not send it (a meshed endpoint, then an unmeshed
    // one, for one streamed body: rare; the try fails as unreachable).
    if (possible_ && http2_.body_taken()) return connect_failed();
    return http1_.send_try(address, identity, timeouts, replayable, body_started);
  }
  int response_status() const {
    return carried_ ? http2_.response_status() : http1_.response_status();
  }
  bool connection_reused() const {
    return carried_ ? http2_.connection_reused() : http1_.connection_reused();
  }
  bool response_started() const {
    return carried_ ? http2_.response_started() : http1_.response_started();
  }
  std::optional<grpc::Status> response_grpc_status() const { return std::nullopt; }
  bool request_body_done() const {
    return carried_ ? http2_.request_body_done() : http1_.request_body_done();
  }
  bool body_replayable() const { return false; }
  void drop_connection() {
    http1_.drop_connection();
    if (possible_) http2_.drop_connection();
  }
  void next_try_on_new_connection() {
    if (carried_) {
      http2_.next_try_on_new_connection();
    } else {
      http1_.next_try_on_new_connection();
    }
  }
  bool body_timed_out() const {
    return carried_ ? http2_.body_timed_out() : http1_.body_timed_out();
  }

 private:
  static awaitable<TryFailure> connect_failed() { co_return TryFailure::kConnect; }

  http1::Client& http1_;
  Http2Carrier& http2_;
  const bool enabled_;
  const Snapshot* snapshot_ = nullptr;
  bool possible_ = false;  // this request may be carried
  bool carried_ = false;   // the last try was
};

}  // namespace weft::proxy::bridge
