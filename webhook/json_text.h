#pragma once

// JSON text as the webhook writes it (the patch and the response).

#include <cstddef>
#include <string>
#include <string_view>

namespace weft::webhook {

// Length of the well-formed UTF-8 sequence starting at text[pos] (a byte >= 0x80),
// or 0 if it is not one (RFC 3629: no overlongs, surrogates, or code points above
// U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

// Appends text as a JSON string (quotes included), byte for byte as
// nlohmann::json::dump() writes it: only '"', '\\' and control characters are
// escaped, and invalid UTF-8 is replaced with U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace weft::webhook
