#pragma once

// A strict pull reader of one JSON text (RFC 8259) that allocates nothing for
// what it skips: the webhook reads the dozen fields it needs out of an
// AdmissionReview in one pass instead of building a DOM of the whole pod (the
// DOM was half the CPU of a review).
//
// It accepts exactly what nlohmann::json::parse accepts, so that moving the
// webhook off the DOM changed no answer: an optional leading UTF-8 BOM, strict
// UTF-8 and escapes in strings (paired surrogates), no trailing commas or
// comments, and numbers that overflow a double refused. The unit tests and the
// fuzzer compare the two.
//
// Errors are sticky: after the first one every call returns "nothing" (peek()
// says kNone, loops end), so a reader is written as if the input were good and
// ok() is asked once, at the end.
//
//   JsonReader reader(text, 64);
//   if (reader.enter_object()) {
//     std::string_view key;
//     while (reader.next_key(key)) {
//       if (key == "name" && reader.peek() == JsonReader::Kind::kString) {
//         name = reader.string();
//       } else {
//         reader.skip();
//       }
//     }
//   }
//   if (!reader.finish()) { /* not valid JSON */ }

#include <cstdint>
#include <string>
#include <string_view>

namespace weft::webhook {

class JsonReader {
 public:
  enum class Kind { kObject, kArray, kString, kNumber, kBool, kNull, kNone };

  // A number as nlohmann::json types it: an integer when it has no fraction or
  // exponent and fits in int64 (negative) or uint64; a float otherwise.
  struct Number {
    bool is_integer = false;
    std::int64_t integer = 0;  // the uint64 value cast, for one above INT64_MAX
  };

  // Containers nested deeper than max_depth fail the read (too_deep() is set).
  JsonReader(std::string_view text, int max_depth);

  // The kind of the next value, not consumed; kNone at the end or after an error.
  Kind peek();

  // Consume the next value if it is an object/array and enter it; false (and
  // nothing consumed) otherwise.
  bool enter_object();
  bool enter_array();
  // Inside an object: the next member's key (valid until the next key is read),
  // with the reader at its value; false once the '}' is consumed.
  bool next_key(std::string_view& key);
  // Inside an array: true with the reader at the next element; false once the
  // ']' is consumed.
  bool next_element();

  // Scalars: the next value must be of that kind (check peek() first). A
  // string is valid until the reader reads or skips another value.
  std::string_view string();
  bool boolean();
  Number number();
  // Consumes the next value, whatever it is, checking it all the same.
  void skip();

  // True when the text was exactly one valid JSON value (whitespace around it;
  // as for nlohmann, a NUL after the value ends the text).
  bool finish();
  bool ok() const { return ok_; }
  bool too_deep() const { return too_deep_; }

 private:
  bool fail();
  void skip_whitespace();
  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  // Reads a string token into key or value storage; empty view on error.
  std::string_view read_string(std::string& scratch);
  bool read_escape(std::string& out);
  bool read_literal(std::string_view literal);
  void close_container();

  std::string_view text_;
  std::size_t pos_ = 0;
  int max_depth_;
  int depth_ = 0;
  // Whether the container just entered has had no member yet ("{" vs "{x:1,").
  bool first_in_container_ = false;
  bool ok_ = true;
  bool too_deep_ = false;
  std::string key_scratch_;  // decoded keys and strings that had escapes
  std::string value_scratch_;
};

}  // namespace weft::webhook
