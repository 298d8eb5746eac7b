#pragma once

// An allocator that keeps freed blocks of one type on a per-thread free list
// and hands them out again: for objects made and freed once per request on a
// worker (an HTTP/2 connection's stream objects, its stream maps' nodes),
// where glibc's malloc and free cost several times a list's push and pop.
// Bounded: each thread keeps at most kRecycledBlocks blocks of each size (a
// block freed past it goes to operator delete). A block may be freed on
// another thread than the one that made it: it joins that thread's list.
// Under AddressSanitizer a kept block is poisoned, so a use after free is
// still reported.

#include <cstddef>
#include <memory>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define WEFT_POISON_BLOCK(block, size) ASAN_POISON_MEMORY_REGION(block, size)
#define WEFT_UNPOISON_BLOCK(block, size) ASAN_UNPOISON_MEMORY_REGION(block, size)
#else
#define WEFT_POISON_BLOCK(block, size) ((void)(block), (void)(size))
#define WEFT_UNPOISON_BLOCK(block, size) ((void)(block), (void)(size))
#endif

namespace weft::proxy {

// Blocks of each size a thread keeps: about the streams in flight on a busy
// worker (250 per connection by default), at most a few hundred KiB for the
// largest kind (a server stream, under 1 KiB).
inline constexpr std::size_t kRecycledBlocks = 256;

// The free list of `Size`-byte blocks of the calling thread.
template <std::size_t Size>
class RecycledBlocks {
 public:
  static_assert(Size >= sizeof(void*));

  // A kept block, or null.
  static void* take() {
    List& list = list_;
    FreeBlock* const block = list.head;
    if (block == nullptr) return nullptr;
    WEFT_UNPOISON_BLOCK(block, Size);
    list.head = block->next;
    --list.count;
    return block;
  }
  // Keeps `block`; false when the list is full (the caller frees it).
  static bool keep(void* block) {
    List& list = list_;
    if (list.count >= kRecycledBlocks) return false;
    auto* const free_block = static_cast<FreeBlock*>(block);
    free_block->next = list.head;
    WEFT_POISON_BLOCK(free_block, Size);
    list.head = free_block;
    ++list.count;
    return true;
  }
  static std::size_t kept() { return list_.count; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  struct List {
    FreeBlock* head = nullptr;
    std::size_t count = 0;
    // The thread ends: its blocks are freed, and blocks freed later on it
    // (other thread_local objects' destructors) go to operator delete.
    ~List() {
      while (head != nullptr) {
        WEFT_UNPOISON_BLOCK(head, Size);
        FreeBlock* const next = head->next;
        ::operator delete(head, Size);
        head = next;
      }
      count = kRecycledBlocks;
    }
  };
  static inline thread_local List list_;
};

// Recycles the blocks of kCount objects (one object: a node, a shared
// object; more: a container's usual first reservation); other sizes go to
// operator new and delete.
template <class T, std::size_t kCount = 1>
class RecyclingAllocator {
 public:
  using value_type = T;
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  template <class U>
  struct rebind {
    using other = RecyclingAllocator<U, kCount>;
  };

  RecyclingAllocator() = default;
  template <class U>
  RecyclingAllocator(const RecyclingAllocator<U, kCount>& /*other*/) {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    if (n == kCount) {
      if (void* const block = Blocks::take()) return static_cast<T*>(block);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* block, std::size_t n) {
    if (n == kCount && Blocks::keep(block)) return;
    ::operator delete(block, n * sizeof(T));
  }

  template <class U>
  bool operator==(const RecyclingAllocator<U, kCount>& /*other*/) const {
    return true;
  }

 private:
  using Blocks = RecycledBlocks<kCount * sizeof(T)>;
};

// A T with its shared_ptr's count in one recycled block.
template <class T>
std::shared_ptr<T> make_recycled() {
  return std::allocate_shared<T>(RecyclingAllocator<T>());
}

}  // namespace weft::proxy
