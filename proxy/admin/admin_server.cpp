#include "proxy/admin/admin_server.h"

#include "proxy/core/deadline.h"
#include "proxy/core/read_buffer.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http1/head_writer.h"

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

awaitable<void> serve(const AdminState& state, Socket socket) {
  ReadBuffer buffer(4096, 16 * 1024);
  http1::HeadParser parser(http1::Limits{.max_head_bytes = 8 * 1024, .max_headers = 64});
  http1::RequestHead request;
  Deadline deadline(socket.get_executor());
  while (true) {
    deadline.arm(socket, std::chrono::seconds(30));
    const http1::ParseResult result = parser.parse_request(buffer.data(), request);
    if (result.status == http1::ParseStatus::kIncomplete) {
      error_code ec;
      const std::size_t n = co_await socket.async_read_some(buffer.prepare(), redirect(ec));
      if (ec) co_return;
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
      out = admin_response(state, request.method, request.path(), close);
      buffer.consume(result.consumed);
      parser.reset();
    }
    error_code ec;
    co_await asio::async_write(socket, asio::buffer(out), redirect(ec));
    if (ec || close) co_return;
  }
}

}  // namespace

std::string admin_response(const AdminState& state, std::string_view method, std::string_view path,
                           bool close) {
  constexpr std::string_view kText = "text/plain; charset=utf-8";
  const bool head_only = method == "HEAD";
  if (method != "GET" && method != "HEAD") {
    return response(405, kText, "the admin port is read-only: GET or HEAD only\n",
                    "Allow: GET, HEAD\r\n", close, head_only);
  }
  if (path == "/live") return response(200, kText, "live\n", "", close, head_only);
  if (path == "/ready") {
    const bool ready = state.ready.load();
    return response(ready ? 200 : 503, kText, ready ? "ready\n" : "not ready\n", "", close,
                    head_only);
  }
  if (path == "/metrics") {
    return response(200, kPrometheusContentType, state.registry.expose(), "", close, head_only);
  }
  if (path == "/config") {
    const auto snapshot = state.config.current();
    if (!snapshot) {
      return response(404, kText, "no configuration document yet: traffic passes through\n", "",
                      close, head_only);
    }
    return response(200, "application/json", snapshot->text(),
                    "X-Weft-Config-Hash: " + snapshot->hash() + "\r\n", close, head_only);
  }
  return response(404, kText, "not found: /live, /ready, /metrics, /config\n", "", close,
                  head_only);
}

void serve_admin_connection(const AdminState& state, Socket socket) {
  const auto executor = socket.get_executor();
  asio::co_spawn(executor, serve(state, std::move(socket)), asio::detached);
}

}  // namespace weft::proxy
