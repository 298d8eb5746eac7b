// RecyclingAllocator: a freed block is handed out again on its thread, each
// thread keeps at most kRecycledBlocks of a size, and a block freed on
// another thread joins that thread's list (freed when it ends: under
// AddressSanitizer, LeakSanitizer would report a block lost).
#include "proxy/core/recycling_allocator.h"

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <thread>
#include <vector>

using namespace weft::proxy;

namespace {

struct Sized {
  char bytes[200];  // a size of its own among the tests' types
};
struct Other {
  char bytes[328];
};

}  // namespace

TEST_CASE("a block freed on a thread is handed out again there", "[recycling]") {
  RecyclingAllocator<Sized> allocator;
  const std::size_t before = RecycledBlocks<sizeof(Sized)>::kept();
  Sized* const first = allocator.allocate(1);
  allocator.deallocate(first, 1);
  CHECK(RecycledBlocks<sizeof(Sized)>::kept() == before + 1);
  Sized* const second = allocator.allocate(1);
  CHECK(second == first);
  CHECK(RecycledBlocks<sizeof(Sized)>::kept() == before);
  allocator.deallocate(second, 1);
  // Arrays are not kept.
  Sized* const array = allocator.allocate(3);
  allocator.deallocate(array, 3);
  CHECK(RecycledBlocks<sizeof(Sized)>::kept() == before + 1);
}

TEST_CASE("a thread keeps at most kRecycledBlocks blocks of a size", "[recycling]") {
  RecyclingAllocator<Other> allocator;
  std::vector<Other*> blocks;
  for (std::size_t i = 0; i < kRecycledBlocks + 10; ++i) blocks.push_back(allocator.allocate(1));
  for (Other* block : blocks) allocator.deallocate(block, 1);
  CHECK(RecycledBlocks<sizeof(Other)>::kept() == kRecycledBlocks);
}

TEST_CASE("a block freed on another thread joins that thread's list", "[recycling]") {
  auto shared = make_recycled<Sized>();
  Sized* const raw = shared.get();
  bool reused_there = false;
  std::thread([&] {
    shared.reset();
    reused_there = make_recycled<Sized>().get() == raw;  // from this thread's list
  }).join();
  CHECK(reused_there);
}

TEST_CASE("a map's nodes and shared objects come from the recycled blocks", "[recycling]") {
  using Map = std::map<int, std::shared_ptr<Sized>, std::less<>,
                       RecyclingAllocator<std::pair<const int, std::shared_ptr<Sized>>>>;
  Map map;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) map[i] = make_recycled<Sized>();
    map.clear();
  }
  auto stream = make_recycled<Sized>();
  Sized* const raw = stream.get();
  stream.reset();
  CHECK(make_recycled<Sized>().get() == raw);
}

TEST_CASE("blocks of a container's first reservation are recycled, other sizes not",
          "[recycling]") {
  using Vector = std::vector<Other, RecyclingAllocator<Other, 4>>;
  const Other* first = nullptr;
  {
    Vector vector;
    vector.reserve(4);
    first = vector.data();
  }
  Vector again;
  again.reserve(4);
  CHECK(again.data() == first);
  const std::size_t kept = RecycledBlocks<4 * sizeof(Other)>::kept();
  {
    Vector larger;
    larger.reserve(5);
  }
  CHECK(RecycledBlocks<4 * sizeof(Other)>::kept() == kept);
}
