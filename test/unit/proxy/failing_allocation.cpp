#include "failing_allocation.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace weft::proxy::testing {
namespace {

std::atomic<bool> armed{false};
std::atomic<bool> failed{false};
std::atomic<std::size_t> fail_size{0};
std::atomic<int> skip_left{0};

}  // namespace

void fail_allocation(std::size_t min_size, int skip) {
  fail_size = min_size;
  skip_left = skip;
  failed = false;
  armed = true;
}

bool allocation_failed() {
  return failed;
}

void disarm_allocation_failure() {
  armed = false;
}

}  // namespace weft::proxy::testing

namespace {

bool should_fail(std::size_t size) {
  using namespace weft::proxy::testing;
  if (!armed.load(std::memory_order_relaxed) || size < fail_size) return false;
  if (skip_left.fetch_sub(1) > 0) return false;
  armed = false;
  failed = true;
  return true;
}

}  // namespace

// Every replaceable form that allocates or frees plainly, so that each pair
// meets here (sanitizers check that new and delete match).
void* operator new(std::size_t size) {
  if (should_fail(size)) throw std::bad_alloc();
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (should_fail(size)) return nullptr;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* memory) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete[](void* memory) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete(void* memory, const std::nothrow_t&) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, const std::nothrow_t&) noexcept {
  std::free(memory);
}
