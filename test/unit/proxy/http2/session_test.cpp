// A server Session with the proxy's options, fed a client's raw frames:
// what nghttp2 answers on the wire (RFC 9113 behaviour h2spec checks).
#include "proxy/http2/session.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "proxy/http2/stream_ids.h"

using namespace weft::proxy::http2;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// :method GET, :scheme http, :path /, :authority a (HPACK, static table).
const std::string kRequestBlock =
    "\x82\x86\x84\x41\x01"
    "a";

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  std::string_view payload) {
  std::string out;
  const auto length = static_cast<std::uint32_t>(payload.size());
  out += static_cast<char>(length >> 16);
  out += static_cast<char>(length >> 8);
  out += static_cast<char>(length);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(stream >> shift);
  out += payload;
  return out;
}

std::string u32(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

struct Frame {
  std::uint8_t type;
  std::uint32_t stream;
  std::uint32_t error;  // RST_STREAM's or GOAWAY's code
};

// The server's events: a request stream is accepted and never answered.
class Events : public SessionEvents {
 public:
  bool check_skipped_ids = false;
  int on_begin_frame(const nghttp2_frame_hd& header) override {
    if (check_skipped_ids && header.type == NGHTTP2_HEADERS &&
        !skipped.headers_allowed(header.stream_id)) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }
  int on_begin_headers(const nghttp2_frame&) override { return 0; }
  int on_header(const nghttp2_frame&, std::string_view, std::string_view) override { return 0; }
  int on_frame_recv(const nghttp2_frame&) override { return 0; }
  int on_data_chunk(std::int32_t, std::string_view) override { return 0; }
  int on_stream_close(std::int32_t, std::uint32_t) override { return 0; }
  SkippedStreamIds skipped;
};

// Feeds `bytes`; returns mem_recv's result and the frames the server sent.
std::vector<Frame> exchange(Session& session, const std::string& bytes, ssize_t& result) {
  result = nghttp2_session_mem_recv(session.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                                    bytes.size());
  if (result < 0) nghttp2_session_terminate_session(session.get(), NGHTTP2_PROTOCOL_ERROR);
  std::string out;
  const std::uint8_t* data = nullptr;
  for (ssize_t n; (n = nghttp2_session_mem_send(session.get(), &data)) > 0;) {
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  std::vector<Frame> frames;
  for (std::size_t at = 0; at + 9 <= out.size();) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(out[at + i]); };
    const std::size_t length = (byte(0) << 16) | (byte(1) << 8) | byte(2);
    Frame f{byte(3), ((byte(5) & 0x7fu) << 24) | (byte(6) << 16) | (byte(7) << 8) | byte(8), 0};
    const std::size_t code_at = f.type == NGHTTP2_GOAWAY ? 13 : 9;
    if ((f.type == NGHTTP2_RST_STREAM || f.type == NGHTTP2_GOAWAY) && length >= code_at - 5) {
      f.error = (std::uint32_t{byte(code_at)} << 24) | (byte(code_at + 1) << 16) |
                (byte(code_at + 2) << 8) | byte(code_at + 3);
    }
    frames.push_back(f);
    at += 9 + length;
  }
  return frames;
}

bool sent(const std::vector<Frame>& frames, std::uint8_t type, std::uint32_t error) {
  for (const Frame& f : frames) {
    if (f.type == type && f.error == error) return true;
  }
  return false;
}

std::string opening() {
  return std::string(kPreface) + frame(NGHTTP2_SETTINGS, 0, 0, "");
}

}  // namespace

TEST_CASE("a frame on a stream the client closed is STREAM_CLOSED, not ignored", "[http2]") {
  Events events;
  Session session(Side::kServer, Limits{}, events);
  REQUIRE(session.ok());
  ssize_t result = 0;
  // HEADERS then RST_STREAM on stream 1, then DATA on it (h2spec http2/5.1/8).
  const auto frames = exchange(
      session,
      opening() + frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1, kRequestBlock) +
          frame(NGHTTP2_RST_STREAM, 0, 1, u32(NGHTTP2_CANCEL)) + frame(NGHTTP2_DATA, 0, 1, "x"),
      result);
  CHECK(result > 0);
  CHECK((sent(frames, NGHTTP2_RST_STREAM, NGHTTP2_STREAM_CLOSED) ||
         sent(frames, NGHTTP2_GOAWAY, NGHTTP2_STREAM_CLOSED)));
}

TEST_CASE("a new stream below an id already used ends the connection", "[http2]") {
  Events events;
  events.check_skipped_ids = true;
  Session session(Side::kServer, Limits{}, events);
  REQUIRE(session.ok());
  ssize_t result = 0;
  // Stream 5 first, then 3 (h2spec http2/5.1.1/2).
  const auto frames =
      exchange(session,
               opening() +
                   frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 5,
                         kRequestBlock) +
                   frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM, 3,
                         "\x82\x86\x84\xbe"),
               result);
  CHECK(result == NGHTTP2_ERR_CALLBACK_FAILURE);
  CHECK(sent(frames, NGHTTP2_GOAWAY, NGHTTP2_PROTOCOL_ERROR));
}

TEST_CASE("an exception in a callback fails the connection, never unwinds through nghttp2",
          "[http2]") {
  // (bad_alloc from a callback would otherwise cross nghttp2's C frames.)
  class Throwing : public Events {
   public:
    int on_header(const nghttp2_frame&, std::string_view, std::string_view) override {
      throw std::bad_alloc();
    }
  } events;
  Session session(Side::kServer, Limits{}, events);
  REQUIRE(session.ok());
  ssize_t result = 0;
  std::vector<Frame> frames;
  REQUIRE_NOTHROW(frames =
                      exchange(session,
                               opening() + frame(NGHTTP2_HEADERS,
                                                 NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM,
                                                 1, kRequestBlock),
                               result));
  CHECK(result == NGHTTP2_ERR_CALLBACK_FAILURE);
  CHECK(sent(frames, NGHTTP2_GOAWAY, NGHTTP2_PROTOCOL_ERROR));
}
