#pragma once

// nghttp2's allocations for one session (nghttp2_mem): its streams, frames
// to send and copied header arrays come and go with each request, about 8
// blocks a request at 100 streams. Freed blocks are kept on free lists of a
// few size classes and handed out again, instead of going through malloc and
// free each time. Bounded: a freed block is kept only while the cached bytes
// stay within `max_cached_bytes` (Limits::session_cache_bytes, the flag
// --http2-session-cache-bytes); past it, it goes back to malloc, and
// `cache_full` (when set) is called. Blocks above the largest class are
// plain malloc ones. One session, one thread: no lock. Under
// AddressSanitizer a kept block is poisoned (a use after free is reported).

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace weft::proxy::http2 {

class SessionMemory {
 public:
  // The classes' sizes (what a caller may use of a block), smallest first:
  // 64-byte steps to 1 KiB (a block wastes less than 64 bytes: with 10,000
  // idle streams, powers of two cost about 200 bytes a stream more), then
  // 2 KiB.
  static constexpr std::array<std::size_t, 17> kClassSizes{
      64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960, 1024, 2048};

  explicit SessionMemory(std::size_t max_cached_bytes) : max_cached_bytes_(max_cached_bytes) {}
  ~SessionMemory();
  SessionMemory(const SessionMemory&) = delete;
  SessionMemory& operator=(const SessionMemory&) = delete;

  // What nghttp2_session_*_new3 takes: it copies the struct, and keeps
  // calling into this until nghttp2_session_del returns.
  nghttp2_mem* mem() { return &mem_; }

  // malloc, calloc, realloc and free, with their semantics (null on failure
  // or for realloc to 0 bytes; free and realloc of null allowed).
  void* allocate(std::size_t size);
  void* allocate_zeroed(std::size_t count, std::size_t size);
  void* reallocate(void* block, std::size_t size);
  void release(void* block);

  // From here on freed blocks go straight back to malloc (the session is
  // being deleted: what it frees would not be used again).
  void stop_caching() { caching_ = false; }

  std::size_t cached_bytes() const { return cached_bytes_; }
  std::size_t max_cached_bytes() const { return max_cached_bytes_; }
  // Called when a freed block went back to malloc because the cache was full.
  std::function<void()> cache_full;

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  // Which class a block of `size` bytes takes; kClassSizes.size() for none.
  static std::size_t class_of(std::size_t size);

  std::size_t max_cached_bytes_;
  std::size_t cached_bytes_ = 0;
  bool caching_ = true;
  std::array<FreeBlock*, kClassSizes.size()> free_{};
  nghttp2_mem mem_{this, &malloc_of, &free_of, &calloc_of, &realloc_of};

  static void* malloc_of(std::size_t size, void* self);
  static void free_of(void* block, void* self);
  static void* calloc_of(std::size_t count, std::size_t size, void* self);
  static void* realloc_of(void* block, std::size_t size, void* self);
};

}  // namespace weft::proxy::http2
