#include "webhook/base64.h"

#include <array>

namespace weft::webhook {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> decoding_table() {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  return table;
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  base64_append(out, data);
  return out;
}

void base64_append(std::string& out, std::string_view data) {
  // Sized once and written through a pointer: a review's patch is several kilobytes.
  const std::size_t start = out.size();
  out.resize(start + (data.size() + 2) / 3 * 4);
  char* to = out.data() + start;
  const auto* from = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t whole = data.size() / 3 * 3;
  for (std::size_t i = 0; i < whole; i += 3) {
    const unsigned n = (unsigned{from[i]} << 16) | (unsigned{from[i + 1]} << 8) | from[i + 2];
    *to++ = kAlphabet[n >> 18];
    *to++ = kAlphabet[(n >> 12) & 63];
    *to++ = kAlphabet[(n >> 6) & 63];
    *to++ = kAlphabet[n & 63];
  }
  const std::size_t rest = data.size() - whole;
  if (rest == 0) return;
  const unsigned n =
      (unsigned{from[whole]} << 16) | (rest == 2 ? unsigned{from[whole + 1]} << 8 : 0u);
  *to++ = kAlphabet[n >> 18];
  *to++ = kAlphabet[(n >> 12) & 63];
  *to++ = rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
  *to = '=';
}

std::optional<std::string> base64_decode(std::string_view text) {
  static constexpr auto kTable = decoding_table();
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int values[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        values[j] = 0;
        ++padding;
      } else if (padding > 0) {
        return std::nullopt;  // data after padding
      } else {
        values[j] = kTable[static_cast<unsigned char>(c)];
        if (values[j] < 0) return std::nullopt;
      }
    }
    const unsigned n = (static_cast<unsigned>(values[0]) << 18) |
                       (static_cast<unsigned>(values[1]) << 12) |
                       (static_cast<unsigned>(values[2]) << 6) | static_cast<unsigned>(values[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

}  // namespace weft::webhook
