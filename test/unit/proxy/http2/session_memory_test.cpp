// SessionMemory: nghttp2's blocks reused from per-class free lists, the
// cache bounded, and malloc's semantics kept (zeroed calloc, realloc keeps
// the bytes). Then whole sessions on it: a client and a server exchanging
// requests, their blocks reused and all given back.
#include "proxy/http2/session_memory.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "proxy/http2/session.h"

using namespace weft::proxy::http2;

TEST_CASE("a freed block of a class is handed out again for the same class", "[http2]") {
  SessionMemory memory(4096);
  void* const first = memory.allocate(100);
  REQUIRE(first != nullptr);
  memory.release(first);
  CHECK(memory.cached_bytes() == 128);
  CHECK(memory.allocate(65) == first);  // 65..128: the same class
  CHECK(memory.cached_bytes() == 0);
  void* const small = memory.allocate(10);
  memory.release(small);
  void* const other = memory.allocate(200);  // another class
  CHECK(other != small);
  memory.release(other);
  memory.release(first);
}

TEST_CASE("the cache keeps no more than its bytes; past them blocks go to malloc", "[http2]") {
  SessionMemory memory(256);
  int full = 0;
  memory.cache_full = [&full] { ++full; };
  void* const a = memory.allocate(128);
  void* const b = memory.allocate(128);
  void* const c = memory.allocate(128);
  memory.release(a);
  memory.release(b);
  CHECK(memory.cached_bytes() == 256);
  CHECK(full == 0);
  memory.release(c);
  CHECK(memory.cached_bytes() == 256);
  CHECK(full == 1);

  SessionMemory none(0);
  none.cache_full = [&full] { ++full; };
  none.release(none.allocate(1));
  CHECK(none.cached_bytes() == 0);
  CHECK(full == 2);
}

TEST_CASE("blocks above the largest class and after stop_caching are not cached", "[http2]") {
  SessionMemory memory(1024 * 1024);
  int full = 0;
  memory.cache_full = [&full] { ++full; };
  memory.release(memory.allocate(SessionMemory::kClassSizes.back() + 1));
  CHECK(memory.cached_bytes() == 0);
  void* const block = memory.allocate(64);
  memory.stop_caching();
  memory.release(block);
  CHECK(memory.cached_bytes() == 0);
  CHECK(full == 0);  // neither is the cache being full
}

TEST_CASE("calloc zeroes a reused block, and refuses a size that overflows", "[http2]") {
  SessionMemory memory(4096);
  auto* const dirty = static_cast<unsigned char*>(memory.allocate(64));
  std::memset(dirty, 0xab, 64);
  memory.release(dirty);
  auto* const zeroed = static_cast<unsigned char*>(memory.allocate_zeroed(8, 8));
  REQUIRE(zeroed == dirty);
  for (int i = 0; i < 64; ++i) CHECK(zeroed[i] == 0);
  memory.release(zeroed);
  CHECK(memory.allocate_zeroed(SIZE_MAX / 2, 3) == nullptr);
  CHECK(memory.allocate(SIZE_MAX - 8) == nullptr);
}

TEST_CASE("realloc keeps the bytes, in place within the class, moved beyond", "[http2]") {
  SessionMemory memory(64 * 1024);
  auto* const block = static_cast<char*>(memory.reallocate(nullptr, 40));
  REQUIRE(block != nullptr);
  std::memcpy(block, "0123456789", 10);
  CHECK(memory.reallocate(block, 64) == block);
  auto* const moved = static_cast<char*>(memory.reallocate(block, 5000));  // above the classes
  REQUIRE(moved != nullptr);
  CHECK(std::string(moved, 10) == "0123456789");
  CHECK(memory.cached_bytes() == 64);  // the old block
  auto* const again = static_cast<char*>(memory.reallocate(moved, 9000));
  REQUIRE(again != nullptr);
  CHECK(std::string(again, 10) == "0123456789");
  CHECK(memory.reallocate(again, 0) == nullptr);  // freed
  memory.release(nullptr);
}

namespace {

// Answers each request with a 200 and no body.
class Answering : public SessionEvents {
 public:
  nghttp2_session* session = nullptr;
  int answered = 0;
  int on_begin_headers(const nghttp2_frame&) override { return 0; }
  int on_header(const nghttp2_frame&, std::string_view, std::string_view) override { return 0; }
  int on_frame_recv(const nghttp2_frame& frame) override {
    if (frame.hd.type == NGHTTP2_HEADERS && (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      static const char kStatus[] = ":status";
      static const char kOk[] = "200";
      nghttp2_nv nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(kStatus)),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(kOk)), 7, 3,
                    NGHTTP2_NV_FLAG_NONE};
      nghttp2_submit_response(session, frame.hd.stream_id, &nv, 1, nullptr);
      ++answered;
    }
    return 0;
  }
  int on_data_chunk(std::int32_t, std::string_view) override { return 0; }
  int on_stream_close(std::int32_t, std::uint32_t) override { return 0; }
};

// Counts the responses' ends.
class Asking : public Answering {
 public:
  int closed = 0;
  int on_frame_recv(const nghttp2_frame&) override { return 0; }
  int on_stream_close(std::int32_t, std::uint32_t error_code) override {
    if (error_code == 0) ++closed;
    return 0;
  }
};

// What one session has to send, fed to the other.
bool pass(nghttp2_session* from, nghttp2_session* to) {
  const std::uint8_t* data = nullptr;
  bool moved = false;
  for (ssize_t n; (n = nghttp2_session_mem_send(from, &data)) > 0;) {
    if (nghttp2_session_mem_recv(to, data, static_cast<std::size_t>(n)) != n) return false;
    moved = true;
  }
  return moved;
}

std::string nv_text(const char* text) {
  return text;
}

}  // namespace

TEST_CASE("a client and a server session run on their caches, reusing blocks", "[http2]") {
  Limits limits;
  limits.session_cache_bytes = 16 * 1024;
  Answering server_events;
  Asking client_events;
  Session server(Side::kServer, limits, server_events);
  Session client(Side::kClient, limits, client_events);
  REQUIRE(server.ok());
  REQUIRE(client.ok());
  server_events.session = server.get();
  int server_full = 0;
  server.memory().cache_full = [&server_full] { ++server_full; };

  std::string names[] = {nv_text(":method"), nv_text(":scheme"), nv_text(":path"),
                         nv_text(":authority"), nv_text("x-long-enough-to-be-a-literal")};
  std::string values[] = {nv_text("GET"), nv_text("http"), nv_text("/"), nv_text("a"),
                          std::string(300, 'v')};
  nghttp2_nv request[5];
  for (int i = 0; i < 5; ++i) {
    request[i] = {reinterpret_cast<std::uint8_t*>(names[i].data()),
                  reinterpret_cast<std::uint8_t*>(values[i].data()), names[i].size(),
                  values[i].size(), NGHTTP2_NV_FLAG_NONE};
  }
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 50; ++i) {
      REQUIRE(nghttp2_submit_request(client.get(), nullptr, request, 5, nullptr, nullptr) > 0);
    }
    while (pass(client.get(), server.get()) || pass(server.get(), client.get())) {
    }
    CHECK(server.memory().cached_bytes() <= 16 * 1024);
    CHECK(client.memory().cached_bytes() <= 16 * 1024);
  }
  CHECK(server_events.answered == 1000);
  CHECK(client_events.closed == 1000);
  // The blocks freed are reused: the caches hold some, within their bound.
  CHECK(server.memory().cached_bytes() > 0);
  CHECK(client.memory().cached_bytes() > 0);
}
