#include "proxy/http2/session_memory.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "proxy/core/recycling_allocator.h"  // WEFT_POISON_BLOCK

namespace weft::proxy::http2 {
namespace {

// Before each block: its class (or kNoClass and its size), on 16 bytes so
// that the caller's part keeps malloc's alignment.
struct alignas(std::max_align_t) BlockHeader {
  std::size_t size_class;
  std::size_t size;  // what the caller may use
};
constexpr std::size_t kNoClass = SessionMemory::kClassSizes.size();

BlockHeader* header_of(void* block) {
  return reinterpret_cast<BlockHeader*>(static_cast<unsigned char*>(block) - sizeof(BlockHeader));
}

void* block_of(BlockHeader* header) {
  return header + 1;
}

}  // namespace

SessionMemory::~SessionMemory() {
  for (std::size_t size_class = 0; size_class < free_.size(); ++size_class) {
    for (FreeBlock* head = free_[size_class]; head != nullptr;) {
      WEFT_UNPOISON_BLOCK(head, kClassSizes[size_class]);
      FreeBlock* const next = head->next;
      std::free(header_of(head));
      head = next;
    }
  }
}

std::size_t SessionMemory::class_of(std::size_t size) {
  // 64-byte steps to 1 KiB, then 2 KiB.
  static_assert(kClassSizes[15] == 1024 && kClassSizes[16] == 2048);
  if (size <= 1024) return size == 0 ? 0 : (size - 1) / 64;
  return size <= 2048 ? 16 : kNoClass;
}

void* SessionMemory::allocate(std::size_t size) {
  const std::size_t size_class = class_of(size);
  if (size_class != kNoClass && free_[size_class] != nullptr) {
    FreeBlock* const block = free_[size_class];
    WEFT_UNPOISON_BLOCK(block, kClassSizes[size_class]);
    free_[size_class] = block->next;
    cached_bytes_ -= kClassSizes[size_class];
    return block;
  }
  const std::size_t usable = size_class == kNoClass ? size : kClassSizes[size_class];
  if (usable > std::numeric_limits<std::size_t>::max() - sizeof(BlockHeader)) return nullptr;
  auto* const header = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + usable));
  if (header == nullptr) return nullptr;
  *header = {.size_class = size_class, .size = usable};
  return block_of(header);
}

void* SessionMemory::allocate_zeroed(std::size_t count, std::size_t size) {
  if (size != 0 && count > std::numeric_limits<std::size_t>::max() / size) return nullptr;
  void* const block = allocate(count * size);
  if (block != nullptr) std::memset(block, 0, count * size);
  return block;
}

void* SessionMemory::reallocate(void* block, std::size_t size) {
  if (block == nullptr) return allocate(size);
  if (size == 0) {
    release(block);
    return nullptr;
  }
  const std::size_t old_size = header_of(block)->size;
  if (size <= old_size) return block;
  void* const moved = allocate(size);
  if (moved == nullptr) return nullptr;  // (the old block stays the caller's)
  std::memcpy(moved, block, old_size);
  release(block);
  return moved;
}

void SessionMemory::release(void* block) {
  if (block == nullptr) return;
  BlockHeader* const header = header_of(block);
  const std::size_t size_class = header->size_class;
  if (size_class == kNoClass || !caching_) {
    std::free(header);
    return;
  }
  if (cached_bytes_ + kClassSizes[size_class] > max_cached_bytes_) {
    std::free(header);
    if (cache_full) cache_full();
    return;
  }
  auto* const free_block = static_cast<FreeBlock*>(block);
  free_block->next = free_[size_class];
  WEFT_POISON_BLOCK(free_block, kClassSizes[size_class]);
  free_[size_class] = free_block;
  cached_bytes_ += kClassSizes[size_class];
}

void* SessionMemory::malloc_of(std::size_t size, void* self) {
  return static_cast<SessionMemory*>(self)->allocate(size);
}

void SessionMemory::free_of(void* block, void* self) {
  static_cast<SessionMemory*>(self)->release(block);
}

void* SessionMemory::calloc_of(std::size_t count, std::size_t size, void* self) {
  return static_cast<SessionMemory*>(self)->allocate_zeroed(count, size);
}

void* SessionMemory::realloc_of(void* block, std::size_t size, void* self) {
  return static_cast<SessionMemory*>(self)->reallocate(block, size);
}

}  // namespace weft::proxy::http2
