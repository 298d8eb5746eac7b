#include "webhook/json_text.h"

#include <nlohmann/json.hpp>

namespace weft::webhook {

std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t at) -> unsigned {
    return at < text.size() ? static_cast<unsigned char>(text[at]) : 0u;
  };
  const auto in = [](unsigned b, unsigned low, unsigned high) { return b >= low && b <= high; };
  const unsigned lead = byte(pos);
  if (in(lead, 0xC2, 0xDF)) return in(byte(pos + 1), 0x80, 0xBF) ? 2 : 0;
  unsigned low = 0x80, high = 0xBF;  // the range of the second byte
  std::size_t length = 0;
  if (lead == 0xE0) {
    low = 0xA0, length = 3;
  } else if (in(lead, 0xE1, 0xEC) || in(lead, 0xEE, 0xEF)) {
    length = 3;
  } else if (lead == 0xED) {
    high = 0x9F, length = 3;
  } else if (lead == 0xF0) {
    low = 0x90, length = 4;
  } else if (in(lead, 0xF1, 0xF3)) {
    length = 4;
  } else if (lead == 0xF4) {
    high = 0x8F, length = 4;
  } else {
    return 0;
  }
  if (!in(byte(pos + 1), low, high)) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!in(byte(pos + i), 0x80, 0xBF)) return 0;
  }
  return length;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t start = out.size();
  out += '"';
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        // Rare (our strings come from validated input): let nlohmann do the
        // replacement, so the text stays exactly what it writes.
        out.resize(start);
        out += nlohmann::json(std::string(text))
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
      }
      out.append(text.substr(i, length));
      i += length - 1;
      continue;
    }
    switch (byte) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xF];
        } else {
          out += static_cast<char>(byte);
        }
    }
  }
  out += '"';
}

}  // namespace weft::webhook
