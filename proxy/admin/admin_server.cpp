#include "proxy/admin/admin_server.h"

#include "proxy/config/snapshot.h"
#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"
#include "weft/version.h"

namespace weft::proxy {
namespace {

std::string response(int status, std::string_view content_type, std::string_view body,
                     std::string_view extra_headers, bool close, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += http1::reason_phrase(status);
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += body;
  return out;
}

awaitable<void> serve(const AdminState& state, Socket socket, ConnectionSlot /*held*/) {
  error_code local_ec;
  const tcp::endpoint local = socket.local_endpoint(local_ec);
  const AdminCaller caller = local_ec ? AdminCaller::kNetwork : admin_caller(local);
  ReadBuffer buffer(4096, 16 * 1024);
  http1::HeadParser parser(http1::Limits{.max_head_bytes = 8 * 1024, .max_headers = 64});
  http1::RequestHead request;
  Deadline deadline(socket.get_executor());
  // One limit for the whole request, from the connection (or the previous
  // answer) to the end of its answer: never re-armed per read, so trickling
  // bytes does not extend it.
  deadline.arm(socket, state.request_timeout);
  const auto timed_out = [&] {
    // An idle keep-alive connection closed at the limit is not a slow request.
    if (deadline.expired() && !buffer.empty())
      state.metrics.admin_request_timeout_total.get().inc();
  };
  while (true) {
    const http1::ParseResult result = parser.parse_request(buffer.data(), request);
    if (result.status == http1::ParseStatus::kIncomplete) {
      error_code ec;
      const std::size_t n = co_await socket.async_read_some(buffer.prepare(), redirect(ec));
      if (ec) {
        timed_out();
        co_return;
      }
      buffer.commit(n);
      continue;
    }
    std::string out;
    bool close = true;
    if (result.status == http1::ParseStatus::kError) {
      http1::write_local_response(out, result.error.status, result.error.reason, true);
    } else {
      // A request with a body is not something the admin port takes.
      close = !request.keep_alive || request.body != http1::BodyKind::kNone;
      out = admin_response(state, request.method, request.path(), close, caller);
    }
    error_code ec;
    co_await asio::async_write(socket, asio::buffer(out), redirect(ec));
    if (ec) {
      if (deadline.expired()) state.metrics.admin_request_timeout_total.get().inc();
      co_return;
    }
    if (close) co_return;
    buffer.consume(result.consumed);
    parser.reset();
    deadline.arm(socket, state.request_timeout);  // the next request's own limit
  }
}

}  // namespace

AdminCaller admin_caller(const tcp::endpoint& local) {
  auto address = local.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.is_loopback() ? AdminCaller::kLoopback : AdminCaller::kNetwork;
}

std::string_view proxy_version() {
  return weft::version();
}

std::string admin_response(const AdminState& state, std::string_view method, std::string_view path,
                           bool close, AdminCaller caller) {
  constexpr std::string_view kText = "text/plain; charset=utf-8";
  const bool head_only = method == "HEAD";
  if (method != "GET" && method != "HEAD") {
    return response(405, kText, "the admin port is read-only: GET or HEAD only\n",
                    "Allow: GET, HEAD\r\n", close, head_only);
  }
  if (path == "/live") return response(200, kText, "live\n", "", close, head_only);
  if (path == "/ready") {
    const bool ready = state.ready.load();
    const std::string reason =
        ready && state.not_ready_reason ? state.not_ready_reason() : std::string();
    if (!reason.empty()) {
      return response(503, kText, "not ready: " + reason + "\n", "", close, head_only);
    }
    return response(ready ? 200 : 503, kText, ready ? "ready\n" : "not ready\n", "", close,
                    head_only);
  }
  if (path == "/metrics") {
    if (state.cache != nullptr) state.cache->expire();
    return response(200, kPrometheusContentType, state.registry.expose(), "", close, head_only);
  }
  if (path == "/version") {
    // Both are plain tokens ("v0.1.0", "sha256:<hex>"): nothing to escape.
    const auto snapshot = state.config.current();
    const std::string hash = snapshot ? "\"" + snapshot->hash() + "\"" : "null";
    return response(
        200, "application/json",
        "{\"version\":\"" + std::string(proxy_version()) + "\",\"configHash\":" + hash + "}\n", "",
        close, head_only);
  }
  if (path == "/config") {
    if (caller != AdminCaller::kLoopback) {
      state.metrics.admin_forbidden_total.with_labels({"/config"}).inc();
      return response(403, kText,
                      "/config is served on loopback only: from inside the pod, or through "
                      "kubectl port-forward\n",
                      "", close, head_only);
    }
    const auto snapshot = state.config.current();
    if (!snapshot) {
      return response(404, kText, "no configuration document yet: traffic passes through\n", "",
                      close, head_only);
    }
    return response(200, "application/json", snapshot->text(),
                    "X-Weft-Config-Hash: " + snapshot->hash() + "\r\n", close, head_only);
  }
  return response(404, kText, "not found: /live, /ready, /metrics, /version, /config\n", "", close,
                  head_only);
}

void serve_admin_connection(const AdminState& state, Socket socket, ConnectionSlot slot) {
  const auto executor = socket.get_executor();
  asio::co_spawn(executor, serve(state, std::move(socket), std::move(slot)), asio::detached);
}

}  // namespace weft::proxy
