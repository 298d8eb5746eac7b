#include "weft/duration.h"

#include <fmt/format.h>

#include <cstdint>
#include <iterator>

namespace weft {
namespace {

using std::chrono::milliseconds;

constexpr int kMaxParts = 4;
constexpr std::size_t kMaxDigits = 5;
// Error messages quote the input; cap it so a huge bad value cannot flood a log line.
constexpr std::size_t kMaxQuotedInput = 40;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string quote_input(std::string_view text) {
  if (text.size() <= kMaxQuotedInput) return fmt::format("{:?}", text);
  return fmt::format("{:?}...", text.substr(0, kMaxQuotedInput));
}

std::string describe_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) return fmt::format("'{}'", c);
  if (c == ' ') return "space";
  return fmt::format("byte 0x{:02x}", byte);
}

// Milliseconds per unit, or 0 for an unknown unit.
std::int64_t unit_millis(std::string_view unit) {
  if (unit == "h") return 3'600'000;
  if (unit == "m") return 60'000;
  if (unit == "s") return 1'000;
  if (unit == "ms") return 1;
  return 0;
}

}  // namespace

Result<milliseconds> parse_duration(std::string_view text) {
  const auto fail = [text](std::string_view why) {
    return Error{fmt::format("invalid duration {}: {}", quote_input(text), why)};
  };
  if (text.empty()) return fail(R"(empty; expected e.g. "1h30m", "500ms" or "0s")");
  if (text.front() == '-') return fail("negative durations are not allowed");

  std::int64_t total_ms = 0;
  int parts = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (parts == kMaxParts) {
      return fail(
          fmt::format("more than {} parts (the extra part starts at position {})", kMaxParts, pos));
    }

    const std::size_t number_start = pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    const std::string_view digits = text.substr(number_start, pos - number_start);
    if (digits.empty()) {
      if (is_ascii_letter(text[pos])) {
        return fail(fmt::format("unit at position {} has no number before it", pos));
      }
      return fail(fmt::format("unexpected {} at position {}", describe_char(text[pos]), pos));
    }
    if (digits.size() > kMaxDigits) {
      return fail(fmt::format("number at position {} has {} digits; at most {} are allowed",
                              number_start, digits.size(), kMaxDigits));
    }
    std::int64_t number = 0;  // at most 5 digits, so no overflow
    for (char c : digits) number = number * 10 + (c - '0');

    const std::size_t unit_start = pos;
    while (pos < text.size() && is_ascii_letter(text[pos])) ++pos;
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    if (unit.empty()) {
      if (pos == text.size()) {
        return fail(fmt::format("number {} at position {} has no unit; expected h, m, s or ms",
                                digits, number_start));
      }
      return fail(fmt::format("unexpected {} at position {}", describe_char(text[pos]), pos));
    }
    const std::int64_t unit_ms = unit_millis(unit);
    if (unit_ms == 0) {
      return fail(fmt::format("unknown unit {} at position {}; expected h, m, s or ms",
                              quote_input(unit), unit_start));
    }

    // At most 4 x 99999h, about 1.4e12 ms: far below the int64 limit.
    total_ms += number * unit_ms;
    ++parts;
  }

  if (total_ms > kMaxDuration.count()) {
    return fail("exceeds the maximum 99999h59m59s999ms");
  }
  return milliseconds(total_ms);
}

Result<std::string> format_duration(milliseconds duration) {
  if (duration < milliseconds::zero()) {
    return Error{fmt::format("duration {}ms is negative", duration.count())};
  }
  if (duration > kMaxDuration) {
    return Error{
        fmt::format("duration {}ms exceeds the maximum 99999h59m59s999ms", duration.count())};
  }
  if (duration == milliseconds::zero()) return std::string("0s");

  std::int64_t rest = duration.count();
  std::string out;
  for (const std::string_view unit : {"h", "m", "s", "ms"}) {
    const std::int64_t per_unit = unit_millis(unit);
    if (rest >= per_unit) {
      fmt::format_to(std::back_inserter(out), "{}{}", rest / per_unit, unit);
      rest %= per_unit;
    }
  }
  return out;
}

}  // namespace weft
