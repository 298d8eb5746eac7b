#pragma once

// A header block as the codec keeps it: owned names and values in order
// (pseudo-headers first, as received or to send), and their nghttp2 form for
// a submit. HPACK-decoded fields arrive as separate buffers that nghttp2
// reuses, so a block is copied once into this.

#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::proxy::http2 {

struct HeaderList {
  std::vector<std::pair<std::string, std::string>> fields;
  // RFC 9113 section 6.5.2's size: names, values and 32 per field.
  std::size_t size = 0;

  void add(std::string_view name, std::string_view value) {
    fields.emplace_back(name, value);
    size += name.size() + value.size() + 32;
  }
  std::string_view find(std::string_view name) const {
    for (const auto& [field, value] : fields) {
      if (field == name) return value;
    }
    return {};
  }
  bool empty() const { return fields.empty(); }
  void clear() {
    fields.clear();
    size = 0;
  }
};

// Views for nghttp2_submit_*; valid while `list` is unchanged. nghttp2
// copies them at the submit.
inline std::vector<nghttp2_nv> to_nv(const HeaderList& list) {
  std::vector<nghttp2_nv> out;
  out.reserve(list.fields.size());
  for (const auto& [name, value] : list.fields) {
    out.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                   value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return out;
}

}  // namespace weft::proxy::http2
