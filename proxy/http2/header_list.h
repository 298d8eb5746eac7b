#pragma once

// A header block as the codec keeps it: names and values in order
// (pseudo-headers first, as received or to send), and their nghttp2 form for
// a submit. HPACK-decoded fields arrive as separate buffers that nghttp2
// reuses, so a block is copied once into this: every name and value back to
// back in one buffer, with an index of where each field is. Two allocations
// per block whatever its fields (a string pair per field cost one or two
// each, and the vector's growth, on every request's four blocks).

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::proxy::http2 {

class HeaderList {
 public:
  using Field = std::pair<std::string_view, std::string_view>;

  // Reserved at the first field: a usual block (a browser's request, a gRPC
  // call's head) fits, without growing.
  static constexpr std::size_t kFirstBytes = 256;
  static constexpr std::size_t kFirstFields = 16;

  // RFC 9113 section 6.5.2's size: names, values and 32 per field.
  std::size_t size = 0;

  void add(std::string_view name, std::string_view value) {
    if (index_.empty()) {
      index_.reserve(kFirstFields);
      bytes_.reserve(kFirstBytes);
    }
    index_.push_back({static_cast<std::uint32_t>(bytes_.size()),
                      static_cast<std::uint32_t>(name.size()),
                      static_cast<std::uint32_t>(value.size())});
    bytes_.append(name).append(value);
    size += name.size() + value.size() + 32;
  }
  std::string_view find(std::string_view name) const {
    for (const auto& [field, value] : *this) {
      if (field == name) return value;
    }
    return {};
  }
  bool empty() const { return index_.empty(); }
  std::size_t count() const { return index_.size(); }
  // Keeps the memory: a block received again (a 1xx, then the final head)
  // reuses it.
  void clear() {
    index_.clear();
    bytes_.clear();
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

    Iterator(const HeaderList& list, std::size_t at) : list_(&list), at_(at) {}
    Field operator*() const { return list_->field(at_); }
    Iterator& operator++() {
      ++at_;
      return *this;
    }
    bool operator==(const Iterator& other) const { return at_ == other.at_; }

   private:
    const HeaderList* list_;
    std::size_t at_;
  };
  Iterator begin() const { return {*this, 0}; }
  Iterator end() const { return {*this, index_.size()}; }

 private:
  struct Entry {
    std::uint32_t at;  // the name's first byte in bytes_, the value right after
    std::uint32_t name_size;
    std::uint32_t value_size;
  };
  Field field(std::size_t i) const {
    const Entry& entry = index_[i];
    const std::string_view all = bytes_;
    return {all.substr(entry.at, entry.name_size),
            all.substr(entry.at + entry.name_size, entry.value_size)};
  }

  std::string bytes_;
  std::vector<Entry> index_;
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
