#include "proxy/http1/server.h"

#include <exception>
#include <optional>

#include "proxy/bridge/upgrading_upstream.h"
#include "proxy/core/deadline.h"
#include "proxy/http1/body_discard.h"
#include "proxy/http1/client.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"
#include "proxy/layers/admission.h"
#include "proxy/layers/authorization.h"
#include "proxy/layers/request_plan.h"
#include "proxy/layers/retries.h"
#include "proxy/layers/routing.h"
#include "proxy/layers/stack.h"
#include "proxy/layers/timeouts.h"
#include "proxy/request/outcome.h"
#include "proxy/tcp/tunnel.h"
#include "proxy/tls/mtls_mode.h"
#include "proxy/tls/tls_labels.h"

namespace weft::proxy {
namespace {

using namespace std::chrono_literals;

class Session {
 public:
  Session(Worker& worker, Stream& client, ReadBuffer& buffer, ConnectionTarget target)
      : worker_(worker),
        runtime_(worker.runtime),
        client_(client),
        client_buffer_(buffer),
        target_(target),
        client_deadline_(client.get_executor()),
        upstream_(
            worker.pool, {client, buffer, bytes_.read, bytes_.written},
            {.connect_timeout = worker.runtime.settings.connect_timeout,
             .body_idle_timeout = worker.runtime.settings.body_idle_timeout,
             .body_idle_timeouts = &worker.runtime.metrics.metrics().limit_reached(
                 target.direction, Limit::kBodyIdleTimeout),
             .new_connection_retries =
                 &worker.runtime.metrics.metrics().upstream_retry_on_new_connection_total,
             .max_interim_responses = worker.runtime.settings.max_interim_responses,
             // Inbound goes to the pod's own app, in plaintext, even
             // though the document lists this pod as a meshed endpoint.
             .tls = target.direction == Direction::kOutbound ? &worker.tls : nullptr,
             // (An inbound connection was counted when it was accepted.)
             .tls_metrics =
                 target.direction == Direction::kOutbound ? &worker.runtime.tls_metrics : nullptr}),
        carrier_(
            worker.http2.outbound, {client, buffer, bytes_.read, bytes_.written},
            {.upstream = {.connect_timeout = worker.runtime.settings.connect_timeout,
                          .tls = &worker.tls,
                          .tls_metrics = &worker.runtime.tls_metrics,
                          .new_connection_retries = &worker.runtime.metrics.metrics()
                                                         .upstream_retry_on_new_connection_total},
             .body_idle_timeout = worker.runtime.settings.body_idle_timeout,
             .body_idle_timeouts = &worker.runtime.metrics.metrics().limit_reached(
                 target.direction, Limit::kBodyIdleTimeout),
             .max_header_list_size = worker.runtime.settings.http2_max_header_list_size}),
        tries_(upstream_, carrier_,
               target.direction == Direction::kOutbound &&
                   worker.runtime.settings.http1_upgrade_between_proxies),
        destination_text_(endpoint_label(target.destination)) {}
  // The frame may go while waiting for a request (cut at shutdown, or left by
  // an exception): the worker's idle list must not keep pointing into it.
  ~Session() { worker_.mark_busy(idle_node_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  awaitable<ConnectionBytes> run();
  // Ends what runs beside the session on its members (the request pump).
  awaitable<void> stop_children() {
    co_await carrier_.finish_request_pump();
    co_await upstream_.finish_request_pump();
  }

 private:
  // Reads until a request head is parsed; false when the connection should end.
  awaitable<bool> read_request_head();
  // Handles the parsed request; false when the connection must close after it.
  awaitable<bool> handle_request();
  // Admission and routing of the parsed request_, into route_ (a plain
  // function: the protocol-neutral view stays out of the coroutine frame).
  void plan_request();
  // To a HEAD (head_request_), without the body; a 429 with its Retry-After.
  // Reads and drops the body of a request answered locally, within
  // --max-discarded-body-bytes: true when the connection may serve another.
  awaitable<bool> discard_request_body(const http1::RequestFacts& facts);
  awaitable<bool> respond_locally(int status, std::string_view reason, bool close,
                                  std::uint32_t retry_after_seconds = 0);
  // After a 101: the client and the upstream connected by a tunnel.
  awaitable<bool> switch_protocols(const http1::RequestFacts& facts);
  awaitable<bool> write_client(std::string_view bytes);
  // The metric handles of (target, route, TLS peer); a keep-alive connection
  // usually sends every request to the same one, so the last is remembered
  // (and held: its series cannot expire under the connection).
  RouteMetrics& route_metrics(std::string_view target, std::string_view route, const TlsPeer& peer,
                              std::string_view route_rule = {}, std::string_view backend = {}) {
    if (cached_metrics_ == nullptr || cached_target_ != target || cached_route_ != route ||
        cached_rule_ != route_rule || cached_backend_ != backend ||
        cached_peer_status_ != peer.status || cached_peer_identity_ != peer.identity) {
      // A target the routing layer did not name is the destination itself:
      // known to the document or not, bounded by the cache either way.
      const MetricTarget label = target == destination_text_
                                     ? metric_target(worker_.routes.snapshot().get(),
                                                     target_.direction, target_.destination)
                                     : MetricTarget{std::string(target), true};
      cached_metrics_ = runtime_.metrics.route(target_.direction, label, std::string(route), peer,
                                               route_rule, backend);
      cached_target_ = target;
      cached_route_ = route;
      cached_rule_ = route_rule;
      cached_backend_ = backend;
      cached_peer_status_ = peer.status;
      cached_peer_identity_ = peer.identity;
    }
    return *cached_metrics_;
  }
  // Who a request's metrics name: inbound, the connection's client; outbound,
  // what its last try had to prove (`identity`, from the snapshot that chose
  // its endpoint). (Views: used at once.)
  TlsPeer peer_with(std::string_view identity) {
    if (target_.direction == Direction::kInbound) return inbound_peer(target_.client_identity);
    return outbound_peer(identity,
                         !identity.empty() && worker_.tls.get(TlsRole::kClient) != nullptr);
  }
  // Before any try: what a try to `address` would have to prove.
  TlsPeer peer_at(const Snapshot* snapshot, const tcp::endpoint& address) {
    return peer_with(snapshot != nullptr ? snapshot->identity_of(address) : std::string_view());
  }

  Worker& worker_;
  Runtime& runtime_;
  Stream& client_;
  ReadBuffer& client_buffer_;
  ConnectionTarget target_;
  ConnectionBytes bytes_;  // (before upstream_, which counts into it)
  Deadline client_deadline_;
  http1::HeadParser parser_;
  http1::RequestHead request_;
  std::size_t request_head_size_ = 0;
  // The HTTP/1 client side, the layer stack's Upstream. Reused by every
  // request of the connection, so its memory is too (and the coroutine frame
  // of handle_request stays small).
  http1::Client upstream_;
  // Outbound to a meshed endpoint, a try goes to its proxy as an HTTP/2
  // stream instead (proxy/bridge/); tries_ chooses, per try.
  bridge::Http2Carrier carrier_;
  bridge::UpgradingUpstream tries_;
  Plan route_;                 // the current request's
  bool head_request_ = false;  // the current request is a HEAD
  std::string refusal_body_;   // the current request's 403 text, when refused
  std::string response_head_bytes_;
  RequestTimeouts timeouts_;  // the current request's
  Worker::IdleNode idle_node_;
  const std::string destination_text_;  // "address:port" of the destination
  std::shared_ptr<RouteMetrics> cached_metrics_;
  std::string cached_target_;
  std::string cached_route_;
  std::string cached_rule_;
  std::string cached_backend_;
  PeerTls cached_peer_status_ = PeerTls::kPlain;
  std::string cached_peer_identity_;
};

awaitable<bool> Session::write_client(std::string_view bytes) {
  error_code ec;
  co_await asio::async_write(client_, asio::buffer(bytes), redirect(ec));
  bytes_.written += bytes.size();
  co_return !ec;
}

awaitable<bool> Session::discard_request_body(const http1::RequestFacts& facts) {
  const std::size_t limit = runtime_.settings.max_discarded_body_bytes;
  // A client waiting for 100 Continue sends no body: the answer goes now and
  // the connection closes, as without a limit.
  const bool too_long = facts.expect_continue || (facts.body == http1::BodyKind::kContentLength &&
                                                  facts.content_length > limit);
  http1::DiscardResult result = http1::DiscardResult::kTooLarge;
  if (!too_long) {
    http1::BodyDecoder decoder;
    decoder.reset(facts.body, facts.content_length);
    // In all, as long as a request head may take to come.
    result = co_await http1::discard_body(client_, client_buffer_, decoder, limit, bytes_.read,
                                          client_deadline_, runtime_.settings.header_timeout);
  }
  auto& metrics = runtime_.metrics.metrics();
  if (result == http1::DiscardResult::kTooLarge) {
    metrics.limit_reached(target_.direction, Limit::kDiscardedBody).inc();
  }
  co_return result == http1::DiscardResult::kDone;
}

awaitable<bool> Session::respond_locally(int status, std::string_view reason, bool close,
                                         std::uint32_t retry_after_seconds) {
  response_head_bytes_.clear();
  http1::write_local_response(
      response_head_bytes_, status, reason, close,
      {.head_request = head_request_, .retry_after_seconds = retry_after_seconds});
  const bool written = co_await write_client(response_head_bytes_);
  co_return written && !close;
}

awaitable<bool> Session::read_request_head() {
  parser_.reset();
  bool waiting_first_byte = client_buffer_.empty();
  // The head's time limit is armed only when the head did not come whole
  // with its first read, so the usual request costs no clock read and no
  // timer update. It runs from that moment, microseconds after the first
  // byte was read (or after protocol detection, for a first request).
  bool head_limit_armed = false;
  while (true) {
    if (!client_buffer_.empty()) {
      const http1::ParseResult result = parser_.parse_request(client_buffer_.data(), request_);
      if (result.status == http1::ParseStatus::kComplete) {
        request_head_size_ = result.consumed;
        client_deadline_.disarm();
        co_return true;
      }
      if (result.status == http1::ParseStatus::kError) {
        client_deadline_.disarm();
        RouteMetrics& metrics = route_metrics(
            destination_text_, "", peer_at(worker_.routes.snapshot().get(), target_.destination));
        metrics.requests.inc();
        metrics.response(result.error.status).inc();
        co_await respond_locally(result.error.status, result.error.reason, true);
        co_return false;
      }
      if (!head_limit_armed) {
        client_deadline_.arm(client_, runtime_.settings.header_timeout);
        head_limit_armed = true;
      }
    }
    const auto space = client_buffer_.prepare();
    if (space.size() == 0) co_return false;  // cannot happen: the head limit is below the buffer's
    error_code ec;
    std::size_t n = 0;
    if (waiting_first_byte) {
      // Between requests: idle, and closed at once on a graceful shutdown.
      if (runtime_.draining.load(std::memory_order_relaxed)) co_return false;
      worker_.mark_idle(idle_node_, client_.lowest_layer());
      client_deadline_.arm(client_, runtime_.settings.idle_timeout);
      n = co_await client_.async_read_some(space, redirect(ec));
      worker_.mark_busy(idle_node_);
      if (!ec) client_deadline_.disarm();
      waiting_first_byte = false;
    } else {
      n = co_await client_.async_read_some(space, redirect(ec));
    }
    if (ec) {
      client_deadline_.disarm();
      // A timeout while a head was half-received deserves an answer.
      if (client_deadline_.expired() && !client_buffer_.empty()) {
        co_await respond_locally(408, "request head not received in time", true);
      }
      co_return false;
    }
    client_buffer_.commit(n);
    bytes_.read += n;
  }
}

void Session::plan_request() {
  Request request = http1::to_request(request_);
  route_ = proxy::plan_request(worker_, target_, destination_text_, request, true, refusal_body_);
}

awaitable<bool> Session::switch_protocols(const http1::RequestFacts& facts) {
  response_head_bytes_.clear();
  http1::write_response_head(response_head_bytes_, upstream_.response(), {}, facts.minor_version);
  UpstreamConnection* upstream = co_await upstream_.upgrade();
  if (!facts.upgrade || upstream == nullptr) co_return false;  // an upgrade nobody asked for
  const bool written = co_await write_client(response_head_bytes_);
  if (!written) co_return false;
  const TunnelBytes tunneled = co_await tunnel(
      client_, client_buffer_.data(), upstream->socket, upstream->buffer.data(),
      {.limit = runtime_.settings.tunnel_idle_timeout_for(target_.destination.port()),
       .closed =
           &runtime_.metrics.metrics().limit_reached(target_.direction, Limit::kTunnelIdleTimeout),
       .half_closed_limit = runtime_.settings.tunnel_half_closed_timeout,
       .half_closed = &runtime_.metrics.metrics().limit_reached(target_.direction,
                                                                Limit::kTunnelHalfClosedTimeout)});
  bytes_.read += tunneled.a_to_b;
  bytes_.written += tunneled.b_to_a;
  co_return false;
}

awaitable<bool> Session::handle_request() {
  const auto started = Clock::now();
  const http1::RequestFacts facts = http1::facts_of(request_);
  const bool has_body = facts.body != http1::BodyKind::kNone;
  head_request_ = request_.method == "HEAD";

  // Admission, routing.
  Plan& route = route_;
  plan_request();
  // Inbound, the TLS peer is the connection's: the request is counted as it
  // begins. Outbound, it is the last try's endpoint's, known once the tries
  // end: the request is counted then, with its response.
  RouteMetrics* metrics = nullptr;
  std::optional<std::string_view> peer_identity;  // set once tries were made
  const auto counted = [&]() -> RouteMetrics& {
    if (metrics == nullptr) {
      metrics = &route_metrics(route.target_label, route.route_label,
                               peer_identity ? peer_with(*peer_identity)
                                             : peer_at(route.snapshot.get(), target_.destination),
                               route.route_rule_label, route.backend_label);
      metrics->requests.inc();
    }
    return *metrics;
  };
  if (target_.direction == Direction::kInbound) counted();
  const auto record = [&](int status, Clock::time_point at = Clock::now()) {
    RouteMetrics& counters = counted();
    counters.response(status).inc();
    counters.latency_ms.observe(std::chrono::duration<double, std::milli>(at - started).count());
  };
  if (route.local.status != 0) {
    record(route.local.status);
    client_buffer_.consume(request_head_size_);
    // The body is read and dropped first, when the connection is to serve
    // the client's next request (a denial must leave it usable); never for
    // an answer that closes it anyway.
    const bool closing =
        route.local.close || !facts.keep_alive || runtime_.draining.load(std::memory_order_relaxed);
    bool body_dropped = !has_body;
    if (has_body && !closing) body_dropped = co_await discard_request_body(facts);
    co_return co_await respond_locally(route.local.status, route.local.reason,
                                       closing || !body_dropped, route.local.retry_after_seconds);
  }

  tries_.start(
      request_, facts, destination_text_,
      target_.direction == Direction::kOutbound && worker_.tls.get(TlsRole::kClient) != nullptr,
      route.snapshot.get());
  client_buffer_.consume(request_head_size_);  // request_'s views are invalid from here

  // Retries need the body kept whole, to send it again.
  bool replayable = !has_body;
  if (should_keep_body(route.retry(), facts.body == http1::BodyKind::kContentLength,
                       facts.content_length, facts.expect_continue)) {
    const http1::Client::KeptBody kept = co_await upstream_.keep_body();
    if (kept == http1::Client::KeptBody::kClientGone) {
      counted();
      co_return false;
    }
    if (kept == http1::Client::KeptBody::kTimedOut) {
      record(408);
      co_return co_await respond_locally(408, "request body not received in time", true);
    }
    if (kept == http1::Client::KeptBody::kMalformed) {
      record(400);
      co_return co_await respond_locally(400, "malformed request body", true);
    }
    replayable = true;
  }
  if (route.budget) route.budget->on_request(started);
  // Timeouts, then the tries: retries, balancing, connection, this codec.
  timeouts_ = request_timeouts(route.rule, started, runtime_.settings.response_timeout);
  const Forwarded forwarded =
      co_await forward(tries_, {.plan = route,
                                .timeouts = timeouts_,
                                .destination = target_.destination,
                                .random = worker_.routes.random(),
                                .executor = client_.get_executor(),
                                .started = started,
                                .replayable = replayable,
                                .idempotent = is_idempotent_method(request_.method)});
  peer_identity = forwarded.identity;
  RouteMetrics& handles = counted();
  if (forwarded.retries > 0) handles.retries.inc(forwarded.retries);
  if (forwarded.budget_exhausted > 0) handles.budget_exhausted.inc(forwarded.budget_exhausted);
  const TryResult& result = forwarded.result;
  if (tries_.carried_as_http2()) {  // (its last try, whatever came of it)
    runtime_.metrics.metrics()
        .http1_upgraded_requests_total.with_labels({std::string(to_string(target_.direction))})
        .inc();
  }
  const bool body_done = tries_.request_body_done();
  if (forwarded.no_endpoint) {
    record(503);
    co_return co_await respond_locally(503, "no endpoint available",
                                       !facts.keep_alive || !body_done);
  }
  if (result.failure == TryFailure::kClientGone) {
    if (!tries_.body_timed_out()) co_return false;
    // The client went silent in its body: told so, as for a slow head.
    record(408);
    co_return co_await respond_locally(408, "request body not received in time", true);
  }
  if (result.failure == TryFailure::kTimeout && timeouts_.response_wait) {
    runtime_.metrics.metrics().limit_reached(target_.direction, Limit::kResponseTimeout).inc();
  }
  if (result.failure != TryFailure::kNone) {
    tries_.drop_connection();  // (one that saw part of a request is never reused)
    if (upstream_.interim_limit_hit()) {
      runtime_.metrics.metrics()
          .interim_limit_total.with_labels({std::string(to_string(target_.direction))})
          .inc();
    }
    const LocalAnswer answer = failure_status(result.failure);
    record(answer.status);
    co_return co_await respond_locally(answer.status, answer.reason,
                                       result.failure == TryFailure::kBadRequestBody ||
                                           !facts.keep_alive || !body_done || result.body_started);
  }
  if (tries_.carried_as_http2()) {
    record(result.status, forwarded.ended);
    co_return co_await carrier_.relay_response(
        facts.keep_alive && !runtime_.draining.load(std::memory_order_relaxed), timeouts_);
  }
  const http1::ResponseHead& response = upstream_.response();
  record(response.status, forwarded.ended);
  if (response.status == 101) co_return co_await switch_protocols(facts);

  bool client_keep_alive =
      facts.keep_alive && body_done && !runtime_.draining.load(std::memory_order_relaxed);
  http1::Framing framing{.body = response.body, .content_length = response.content_length};
  if (response.body == http1::BodyKind::kChunked || response.body == http1::BodyKind::kUntilClose) {
    if (facts.minor_version >= 1) {
      framing.body = http1::BodyKind::kChunked;
    } else {
      framing.body = http1::BodyKind::kUntilClose;
      client_keep_alive = false;  // HTTP/1.0 knows no chunks: the end is the close
    }
  }
  framing.close = !client_keep_alive;
  if (framing.body == http1::BodyKind::kUntilClose && !response.transfer_codings.empty()) {
    upstream_.drop_connection();  // HTTP/1.0 knows no transfer codings to decode
    co_return co_await respond_locally(502, "transfer coding an HTTP/1.0 client cannot decode",
                                       true);
  }
  response_head_bytes_.clear();
  http1::write_response_head(response_head_bytes_, response, framing, facts.minor_version);
  const bool streamed =
      co_await upstream_.relay_response(framing.body, response_head_bytes_, timeouts_);
  co_return streamed&& client_keep_alive;
}

awaitable<ConnectionBytes> Session::run() {
  // (No co_await inside a condition: GCC 12 miscompiles some of those.)
  while (true) {
    const bool have_request = co_await read_request_head();
    if (!have_request) break;
    const bool keep_going = co_await handle_request();
    route_ = {};  // an idle connection keeps no configuration alive
    head_request_ = false;
    if (!keep_going) break;
  }
  co_return bytes_;
}

}  // namespace

awaitable<ConnectionBytes> serve_http1(Worker& worker, Stream& client, ReadBuffer& buffer,
                                       ConnectionTarget target) {
  Session session(worker, client, buffer, target);
  ConnectionBytes bytes;
  std::exception_ptr error;
  try {
    bytes = co_await session.run();
  } catch (...) {
    error = std::current_exception();
  }
  if (!error) co_return bytes;
  // Left by an exception (an allocation failure) with the request pump
  // perhaps still running on the session's members: it ends first.
  co_await session.stop_children();
  std::rethrow_exception(error);
}

}  // namespace weft::proxy
