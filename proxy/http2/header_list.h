#pragma once

// A header block as the codec keeps it: names and values in order
// (pseudo-headers first, as received or to send), and their nghttp2 form for
// a submit. HPACK-decoded fields arrive as separate buffers that nghttp2
// reuses, so a block is copied once into this: every field as a record (its
// name's and value's sizes, then their bytes) back to back in one buffer.
// One allocation per block whatever its fields (a string pair per field
// cost one or two each, and the vector's growth, on every request's blocks);
// a lookup walks the records, as it walked the pairs.

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/core/recycling_allocator.h"

namespace weft::proxy::http2 {

// The bytes of a HeaderList's records: a plain buffer growing by doubling
// from kFirstBytes, whose first block is a recycled one (RecyclingAllocator's
// per-thread lists). An append that fits is a copy, inline.
class HeaderBytes {
 public:
  static constexpr std::size_t kFirstBytes = 384;

  HeaderBytes() = default;
  HeaderBytes(const HeaderBytes& other) { append(other.data_, other.size_); }
  HeaderBytes(HeaderBytes&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  HeaderBytes& operator=(HeaderBytes other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }
  ~HeaderBytes() { release(); }

  void append(const void* bytes, std::size_t n) {
    if (n == 0) return;
    if (n > capacity_ - size_) grow(size_ + n);
    std::memcpy(data_ + size_, bytes, n);
    size_ += n;
  }
  void append(std::string_view bytes) { append(bytes.data(), bytes.size()); }
  // Keeps the memory.
  void clear() { size_ = 0; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_, size_}; }

 private:
  using FirstBlocks = RecycledBlocks<kFirstBytes>;

  void grow(std::size_t needed) {
    const std::size_t capacity = std::max({kFirstBytes, capacity_ * 2, needed});
    char* data = capacity == kFirstBytes ? static_cast<char*>(FirstBlocks::take()) : nullptr;
    if (data == nullptr) data = static_cast<char*>(::operator new(capacity));
    if (size_ > 0) std::memcpy(data, data_, size_);
    release();
    data_ = data;
    capacity_ = capacity;
  }
  void release() {
    if (data_ == nullptr) return;
    if (capacity_ != kFirstBytes || !FirstBlocks::keep(data_)) ::operator delete(data_, capacity_);
    data_ = nullptr;
    capacity_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

class HeaderList {
 public:
  using Field = std::pair<std::string_view, std::string_view>;

  // Reserved at the first field: a usual block (a browser's request, a gRPC
  // call's head) fits without growing. That first buffer is a recycled
  // block (a request's three blocks each took a malloc and a free).
  static constexpr std::size_t kFirstBytes = HeaderBytes::kFirstBytes;

  // RFC 9113 section 6.5.2's size: names, values and 32 per field.
  std::size_t size = 0;

  void add(std::string_view name, std::string_view value) {
    const std::uint32_t sizes[2] = {static_cast<std::uint32_t>(name.size()),
                                    static_cast<std::uint32_t>(value.size())};
    bytes_.append(sizes, sizeof sizes);
    bytes_.append(name);
    bytes_.append(value);
    ++count_;
    size += name.size() + value.size() + 32;
  }
  std::string_view find(std::string_view name) const {
    for (const auto& [field, value] : *this) {
      if (field == name) return value;
    }
    return {};
  }
  bool empty() const { return count_ == 0; }
  std::size_t count() const { return count_; }
  // Keeps the memory: a block received again (a 1xx, then the final head)
  // reuses it.
  void clear() {
    bytes_.clear();
    count_ = 0;
    size = 0;
  }

  // The fields in order, as (name, value) views valid while the list is
  // unchanged.
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Field;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Field;

    explicit Iterator(std::string_view rest) : rest_(rest) {}
    Field operator*() const {
      std::uint32_t sizes[2];
      std::memcpy(sizes, rest_.data(), sizeof sizes);
      return {rest_.substr(sizeof sizes, sizes[0]),
              rest_.substr(sizeof sizes + sizes[0], sizes[1])};
    }
    Iterator& operator++() {
      std::uint32_t sizes[2];
      std::memcpy(sizes, rest_.data(), sizeof sizes);
      rest_.remove_prefix(sizeof sizes + sizes[0] + sizes[1]);
      return *this;
    }
    bool operator==(const Iterator& other) const { return rest_.size() == other.rest_.size(); }

   private:
    std::string_view rest_;  // the records not visited yet
  };
  Iterator begin() const { return Iterator(bytes_.view()); }
  Iterator end() const { return Iterator(bytes_.view().substr(bytes_.view().size())); }

 private:
  HeaderBytes bytes_;
  std::size_t count_ = 0;
};

// Views for nghttp2_submit_*; valid while `list` is unchanged and this
// lives. nghttp2 copies them at the submit. Up to kInline fields are kept
// here, without allocating (a response's or a request's usual head).
class NvArray {
 public:
  static constexpr std::size_t kInline = 24;

  explicit NvArray(const HeaderList& list) : count_(list.count()) {
    nghttp2_nv* out = inline_.data();
    if (count_ > kInline) {
      spill_.resize(count_);
      out = spill_.data();
    }
    for (const auto& [name, value] : list) *out++ = view(name, value);
  }
  NvArray(const NvArray&) = delete;
  NvArray& operator=(const NvArray&) = delete;

  const nghttp2_nv* data() const { return count_ > kInline ? spill_.data() : inline_.data(); }
  std::size_t size() const { return count_; }

 private:
  static nghttp2_nv view(std::string_view name, std::string_view value) {
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NONE};
  }

  std::size_t count_;
  std::array<nghttp2_nv, kInline> inline_;
  std::vector<nghttp2_nv> spill_;
};

inline NvArray to_nv(const HeaderList& list) {
  return NvArray(list);
}

}  // namespace weft::proxy::http2
