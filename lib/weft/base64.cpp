#include "weft/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <iterator>

namespace weft {
namespace {

bool in_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// EVP_*Block take an int length; longer input goes in chunks of whole groups.
constexpr std::size_t kChunk = std::size_t{INT_MAX} / 4 * 3;

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  base64_append(out, data);
  return out;
}

void base64_append(std::string& out, std::string_view data) {
  while (true) {
    const std::string_view part = data.substr(0, kChunk);
    data.remove_prefix(part.size());
    const std::size_t start = out.size();
    // EVP_EncodeBlock writes a terminating NUL after the text: room for it,
    // then cut it.
    out.resize(start + (part.size() + 2) / 3 * 4 + 1);
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start),
                                        reinterpret_cast<const unsigned char*>(part.data()),
                                        static_cast<int>(part.size()));
    out.resize(start + static_cast<std::size_t>(written));
    if (data.empty()) return;
  }
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string clean;
  if (text.find_first_of("\r\n") != std::string_view::npos) {
    clean.reserve(text.size());
    std::copy_if(text.begin(), text.end(), std::back_inserter(clean),
                 [](char c) { return c != '\r' && c != '\n'; });
    text = clean;
  }
  // EVP_DecodeBlock takes '=' anywhere (as zero bits) and skips spaces at
  // both ends; these checks make the accepted language exactly Go's.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  if (!std::all_of(text.begin(), text.end() - static_cast<std::ptrdiff_t>(padding), in_alphabet)) {
    return std::nullopt;
  }
  std::string out;
  out.resize(text.size() / 4 * 3);
  std::size_t written = 0;
  for (std::size_t at = 0; at < text.size(); at += kChunk / 3 * 4) {
    const std::string_view part = text.substr(at, kChunk / 3 * 4);
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                                  reinterpret_cast<const unsigned char*>(part.data()),
                                  static_cast<int>(part.size()));
    if (n < 0) return std::nullopt;
    written += static_cast<std::size_t>(n);
  }
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  out.resize(written - padding);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // One character left over after whole groups cannot encode a byte.
  if (text.size() % 4 == 1) return std::nullopt;
  std::string standard;
  standard.reserve(text.size() + 3);
  for (const char c : text) {
    if (c == '+' || c == '/' || c == '=' || c == '\r' || c == '\n') return std::nullopt;
    standard.push_back(c == '-' ? '+' : c == '_' ? '/' : c);
  }
  standard.append((4 - standard.size() % 4) % 4, '=');
  return base64_decode(standard);
}

}  // namespace weft
