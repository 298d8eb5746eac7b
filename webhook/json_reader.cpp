#include "webhook/json_reader.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "webhook/json_text.h"

namespace weft::webhook {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

}  // namespace

JsonReader::JsonReader(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {
  if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // as nlohmann: a BOM is skipped
}

bool JsonReader::fail() {
  ok_ = false;
  pos_ = text_.size();
  return false;
}

void JsonReader::skip_whitespace() {
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    ++pos_;
  }
}

JsonReader::Kind JsonReader::peek() {
  if (!ok_) return Kind::kNone;
  skip_whitespace();
  if (pos_ >= text_.size()) {
    fail();  // a value was expected
    return Kind::kNone;
  }
  switch (text_[pos_]) {
    case '{':
      return Kind::kObject;
    case '[':
      return Kind::kArray;
    case '"':
      return Kind::kString;
    case 't':
    case 'f':
      return Kind::kBool;
    case 'n':
      return Kind::kNull;
    default:
      if (text_[pos_] == '-' || is_digit(text_[pos_])) return Kind::kNumber;
      fail();
      return Kind::kNone;
  }
}

bool JsonReader::enter_object() {
  if (peek() != Kind::kObject) return false;
  if (++depth_ > max_depth_) {
    too_deep_ = true;
    return fail();
  }
  ++pos_;
  first_in_container_ = true;
  return true;
}

bool JsonReader::enter_array() {
  if (peek() != Kind::kArray) return false;
  if (++depth_ > max_depth_) {
    too_deep_ = true;
    return fail();
  }
  ++pos_;
  first_in_container_ = true;
  return true;
}

void JsonReader::close_container() {
  ++pos_;
  --depth_;
  // The container just closed is a value of the one around it, which therefore
  // is no longer empty.
  first_in_container_ = false;
}

bool JsonReader::next_key(std::string_view& key) {
  if (!ok_) return false;
  skip_whitespace();
  if (at('}')) {
    close_container();
    return false;
  }
  if (!first_in_container_) {
    if (!at(',')) return fail();
    ++pos_;
    skip_whitespace();
  }
  first_in_container_ = false;
  if (!at('"')) return fail();
  key = read_string(key_scratch_);
  if (!ok_) return false;
  skip_whitespace();
  if (!at(':')) return fail();
  ++pos_;
  return true;
}

bool JsonReader::next_element() {
  if (!ok_) return false;
  skip_whitespace();
  if (at(']')) {
    close_container();
    return false;
  }
  if (!first_in_container_) {
    if (!at(',')) return fail();
    ++pos_;
  }
  first_in_container_ = false;
  return true;
}

std::string_view JsonReader::string() {
  if (peek() != Kind::kString) {
    fail();
    return {};
  }
  return read_string(value_scratch_);
}

bool JsonReader::read_escape(std::string& out) {
  // At the character after the backslash.
  if (pos_ >= text_.size()) return fail();
  const char c = text_[pos_++];
  switch (c) {
    case '"':
    case '\\':
    case '/':
      out += c;
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case 'n':
      out += '\n';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'u':
      break;
    default:
      return fail();
  }
  const auto hex4 = [&]() -> int {
    if (text_.size() - pos_ < 4) return -1;
    int value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex_value(text_[pos_ + static_cast<std::size_t>(i)]);
      if (digit < 0) return -1;
      value = value * 16 + digit;
    }
    pos_ += 4;
    return value;
  };
  const int unit = hex4();
  if (unit < 0) return fail();
  std::uint32_t code_point = static_cast<std::uint32_t>(unit);
  if (unit >= 0xDC00 && unit <= 0xDFFF) return fail();  // a low surrogate alone
  if (unit >= 0xD800 && unit <= 0xDBFF) {
    // A high surrogate must be followed by an escaped low one.
    if (text_.size() - pos_ < 2 || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') return fail();
    pos_ += 2;
    const int low = hex4();
    if (low < 0xDC00 || low > 0xDFFF) return fail();
    code_point = 0x10000 + ((static_cast<std::uint32_t>(unit) - 0xD800) << 10) +
                 (static_cast<std::uint32_t>(low) - 0xDC00);
  }
  append_utf8(out, code_point);
  return true;
}

std::string_view JsonReader::read_string(std::string& scratch) {
  ++pos_;  // the opening quote
  const std::size_t start = pos_;
  bool copying = false;  // once an escape is met, the decoded text goes to scratch
  while (pos_ < text_.size()) {
    const auto byte = static_cast<unsigned char>(text_[pos_]);
    if (byte == '"') {
      const std::string_view raw = text_.substr(start, pos_ - start);
      ++pos_;
      return copying ? std::string_view(scratch) : raw;
    }
    if (byte == '\\') {
      if (!copying) {
        scratch.assign(text_.substr(start, pos_ - start));
        copying = true;
      }
      ++pos_;
      if (!read_escape(scratch)) return {};
    } else if (byte < 0x20) {
      fail();  // control characters must be escaped
      return {};
    } else if (byte < 0x80) {
      if (copying) scratch += static_cast<char>(byte);
      ++pos_;
    } else {
      const std::size_t length = utf8_sequence_length(text_, pos_);
      if (length == 0) {
        fail();
        return {};
      }
      if (copying) scratch.append(text_.substr(pos_, length));
      pos_ += length;
    }
  }
  fail();  // unterminated
  return {};
}

bool JsonReader::read_literal(std::string_view literal) {
  if (text_.substr(pos_, literal.size()) != literal) return fail();
  pos_ += literal.size();
  return true;
}

bool JsonReader::boolean() {
  if (peek() != Kind::kBool) return fail();
  if (text_[pos_] == 't') return read_literal("true");
  read_literal("false");
  return false;
}

JsonReader::Number JsonReader::number() {
  Number number;
  if (peek() != Kind::kNumber) {
    fail();
    return number;
  }
  const std::size_t start = pos_;
  const bool negative = at('-');
  if (negative) ++pos_;
  const std::size_t digits_start = pos_;
  if (at('0')) {
    ++pos_;
  } else if (pos_ < text_.size() && is_digit(text_[pos_])) {
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
  } else {
    fail();
    return number;
  }
  const std::size_t digits_end = pos_;
  bool is_float = false, has_exponent = false;
  if (at('.')) {
    is_float = true;
    ++pos_;
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) {
      fail();
      return number;
    }
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
  }
  if (at('e') || at('E')) {
    is_float = has_exponent = true;
    ++pos_;
    if (at('+') || at('-')) ++pos_;
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) {
      fail();
      return number;
    }
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
  }
  if (!is_float) {
    // Fits in uint64 (or, negative, in int64)? Else nlohmann makes it a float.
    std::uint64_t magnitude = 0;
    bool overflow = false;
    for (std::size_t i = digits_start; i < digits_end && !overflow; ++i) {
      const auto digit = static_cast<std::uint64_t>(text_[i] - '0');
      if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        overflow = true;
      } else {
        magnitude = magnitude * 10 + digit;
      }
    }
    constexpr auto kMinMagnitude = std::uint64_t{1} << 63;  // of INT64_MIN
    if (!overflow && (!negative || magnitude <= kMinMagnitude)) {
      number.is_integer = true;
      number.integer = negative ? static_cast<std::int64_t>(0 - magnitude)
                                : static_cast<std::int64_t>(magnitude);
      return number;
    }
  }
  // nlohmann refuses a number beyond a double's range; only an exponent or more
  // than 300 digits can get there, so only those are converted.
  const std::size_t length = pos_ - start;
  if (has_exponent || length > 300) {
    const std::string token(text_.substr(start, length));  // strtod needs a terminator
    if (!std::isfinite(std::strtod(token.c_str(), nullptr))) fail();
  }
  return number;
}

void JsonReader::skip() {
  switch (peek()) {
    case Kind::kObject: {
      enter_object();
      std::string_view key;
      while (next_key(key)) skip();
      return;
    }
    case Kind::kArray:
      enter_array();
      while (next_element()) skip();
      return;
    case Kind::kString:
      read_string(value_scratch_);
      return;
    case Kind::kNumber:
      number();
      return;
    case Kind::kBool:
      boolean();
      return;
    case Kind::kNull:
      read_literal("null");
      return;
    case Kind::kNone:
      return;
  }
}

bool JsonReader::finish() {
  if (!ok_) return false;
  skip_whitespace();
  if (depth_ != 0) return fail();
  // nlohmann takes a NUL where a token starts for the end of the input (as in a C
  // string), so whatever follows the value's NUL is ignored.
  if (pos_ != text_.size() && text_[pos_] != '\0') return fail();
  return true;
}

}  // namespace weft::webhook
