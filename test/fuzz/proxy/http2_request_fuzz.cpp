// libFuzzer target for HTTP/2 requests as weft-proxy's server side reads
// them: the input is a client's byte stream (preface included) fed to an
// nghttp2 server session with the proxy's options (proxy/http2/limits.h),
// and every request header block nghttp2 accepts is turned into the neutral
// Request (proxy/http2/request_head.h). Beyond "no crash, no sanitizer
// report", it checks that no accepted request can smuggle: nothing the
// proxy would forward carries CR, LF or NUL in a value, an upper-case or
// connection-specific field name, TE other than "trailers", a pseudo-header
// after the fields, or a path that is not origin-form; and that the HTTP/1.1
// head a marked request becomes for the app (proxy/bridge/) parses back,
// whole, as one HTTP/1 request with the same method, target and framing
// (never Content-Length with Transfer-Encoding). Built with g++ as a
// replay over the seeds in every ctest run (http2_replay_main.cpp), and with
// libFuzzer by run_http2.sh.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "proxy/bridge/head_translation.h"
#include "proxy/http1/head_parser.h"
#include "proxy/http2/limits.h"
#include "proxy/http2/request_head.h"

namespace {

using namespace weft::proxy;
using namespace weft::proxy::http2;

struct Collector {
  std::map<std::int32_t, RequestHead> heads;
  int accepted = 0;
};

void check(bool condition) {
  if (!condition) std::abort();
}

bool lower_token(std::string_view name) {
  for (const char c : name) {
    if (c >= 'A' && c <= 'Z') return false;
    if (c <= ' ' || c == 0x7f || c == ':') return false;
  }
  return !name.empty();
}

void check_forwarded(const ConvertedRequest& out) {
  bool fields_started = false;
  for (const auto& [name, value] : out.forwarded) {
    for (const char c : value) check(c != '\r' && c != '\n' && c != '\0');
    if (!name.empty() && name[0] == ':') {
      check(!fields_started);
      check(name == ":method" || name == ":scheme" || name == ":authority" || name == ":path");
      continue;
    }
    fields_started = true;
    check(lower_token(name));
    check(name != "connection" && name != "transfer-encoding" && name != "keep-alive" &&
          name != "upgrade" && name != "proxy-connection");
    if (name == "te") check(value == "trailers");
  }
  const std::string_view path = out.forwarded.find(":path");
  check(path == "*" || (!path.empty() && path[0] == '/'));
  check(out.request.path.find("//") == std::string_view::npos);
}

// As the inbound proxy sends a marked stream to its app.
void check_sent_as_http1(const ConvertedRequest& out, bool has_body) {
  bridge::Http1RequestOut http1_out;
  if (!bridge::http2_request_to_http1(out.forwarded, has_body, http1_out)) return;
  http1::HeadParser parser;
  http1::RequestHead parsed;
  const http1::ParseResult result = parser.parse_request(http1_out.head, parsed);
  check(result.status == http1::ParseStatus::kComplete);
  check(result.consumed == http1_out.head.size());  // one head, nothing after it
  check(parsed.method == out.forwarded.find(":method"));
  check(parsed.target == out.forwarded.find(":path"));
  check(parsed.body == http1_out.body);
  check(parsed.content_length == http1_out.content_length);
  check(parsed.find(bridge::kOriginalProtocolField).empty());
  check(!parsed.upgrade);
}

int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto& collector = *static_cast<Collector*>(user_data);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    collector.heads[frame->hd.stream_id] = {};
  }
  return 0;
}

int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
              std::size_t name_length, const std::uint8_t* value, std::size_t value_length,
              std::uint8_t, void* user_data) {
  auto& collector = *static_cast<Collector*>(user_data);
  const auto it = collector.heads.find(frame->hd.stream_id);
  if (it == collector.heads.end()) return 0;
  it->second.block.add({reinterpret_cast<const char*>(name), name_length},
                       {reinterpret_cast<const char*>(value), value_length});
  return 0;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto& collector = *static_cast<Collector*>(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  const auto it = collector.heads.find(frame->hd.stream_id);
  if (it == collector.heads.end()) return 0;
  it->second.end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  ConvertedRequest out;
  to_request(it->second, out);
  collector.heads.erase(it);
  if (out.refusal.status != 0) {
    check(out.refusal.status >= 400 && !out.refusal.reason.empty());
    return 0;
  }
  ++collector.accepted;
  if (out.request.method != "CONNECT") {
    check_forwarded(out);
    check_sent_as_http1(out, out.request.body.kind != BodySource::Kind::kNone);
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Collector collector;
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return 0;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  const Limits limits;
  const OptionPtr options = session_options(limits);
  nghttp2_session* session = nullptr;
  if (options && nghttp2_session_server_new2(&session, callbacks, &collector, options.get()) == 0) {
    const auto settings = local_settings(limits, Side::kServer);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    // Fed in two pieces at a point the input's last byte picks: the session
    // must read the same whatever the reads' sizes.
    const std::size_t split = size == 0 ? 0 : data[size - 1] % (size + 1);
    if (nghttp2_session_mem_recv(session, data, split) >= 0) {
      nghttp2_session_mem_recv(session, data + split, size - split);
    }
    nghttp2_session_del(session);
  }
  nghttp2_session_callbacks_del(callbacks);
  return 0;
}
